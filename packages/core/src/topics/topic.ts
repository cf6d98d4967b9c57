/** Subscription topics: the shapes the API returns. */
import type { ContactTopic, Topic } from "@omneural/contracts/topics";
import type { TopicRow } from "../db/schema.ts";

export function toTopic(row: TopicRow): Topic {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: row.created_at.toISOString(),
  };
}

export function toContactTopic(row: {
  contact_id: string;
  topic_id: string;
  subscribed: boolean;
  changed_at: Date;
}): ContactTopic {
  return {
    contactId: row.contact_id,
    topicId: row.topic_id,
    subscribed: row.subscribed,
    changedAt: row.changed_at.toISOString(),
  };
}

/** A description as stored: trimmed, and null when blank. */
export function cleanDescription(description: string | null | undefined): string | null {
  const trimmed = description?.trim();
  return trimmed ? trimmed : null;
}
