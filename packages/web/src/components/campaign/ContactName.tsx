/** A contact shown by name or email (fetched once and cached), linking to their trace in a campaign. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import { campaignApi } from "./campaignApi.ts";

export function ContactTraceLink({ campaignId, contactId }: { campaignId: string; contactId: string }) {
  const contact = useQuery({
    queryKey: ["contact", contactId],
    queryFn: () => campaignApi.contact(contactId),
    staleTime: 300_000,
    retry: false,
  });
  const c = contact.data;
  const name = c
    ? c.email || [c.firstName, c.lastName].filter(Boolean).join(" ") || c.phone || "A contact"
    : "A contact";
  return <Link href={`/reports/${campaignId}/members/${contactId}`}>{name}</Link>;
}
