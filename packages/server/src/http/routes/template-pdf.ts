/**
 * GET /api/v1/templates/{id}/preview.pdf: a direct-mail template printed for one contact, as the print
 * shop would get it, for the editor's preview.
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Uuid } from "@omneural/contracts/common";
import { TemplateIdParams } from "@omneural/contracts/templates";
import { getContact, type WorkspaceContext } from "@omneural/core/contacts/contact.service";
import type { Db } from "@omneural/core/db/database";
import { returnAddressOf } from "@omneural/core/delivery/mail-dispatch";
import { renderMailPiecePdf } from "@omneural/core/delivery/print-batch";
import { purlUrl } from "@omneural/core/delivery/purl";
import { getSender } from "@omneural/core/delivery/sender.service";
import { AppError, validationFailed } from "@omneural/core/shared/errors";
import { type RenderContact, SAMPLE_CONTACT } from "@omneural/core/templates/render";
import { previewTemplate } from "@omneural/core/templates/template.service";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

/** Printed where the workspace's return address goes while it has none. */
const NO_RETURN_ADDRESS = "Your return address\n(set it in Settings › Sender)";
/** The PURL code printed on a preview: no member owns it, so it leads nowhere. */
const PREVIEW_PURL_CODE = "PREVIEW";

async function returnAddressFor(db: Db, ws: WorkspaceContext): Promise<string> {
  try {
    const sender = await getSender(db, ws);
    return sender.postalAddress.trim()
      ? returnAddressOf({ from_name: sender.fromName ?? null, postal_address: sender.postalAddress })
      : NO_RETURN_ADDRESS;
  } catch (error) {
    if (error instanceof AppError && error.code === "NOT_FOUND") return NO_RETURN_ADDRESS;
    throw error;
  }
}

/** The recipient block as the dispatcher builds it (mail-dispatch's mailAddressOf), blanks kept blank. */
function mailAddressOf(contact: RenderContact) {
  const a = contact.address ?? {};
  return {
    name: [contact.firstName, contact.lastName]
      .map((part) => part?.trim())
      .filter(Boolean)
      .join(" "),
    line1: a.line1?.trim() ?? "",
    line2: a.line2?.trim() || null,
    city: a.city?.trim() ?? "",
    region: a.region?.trim() || null,
    postalCode: a.postalCode?.trim() ?? "",
    country: a.country?.trim() ?? "",
  };
}

export async function templatePdfRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;

  app.get(
    "/templates/:id/preview.pdf",
    {
      schema: {
        tags: ["templates"],
        summary: "A direct-mail template printed for a contact, as a PDF",
        description:
          "The current version rendered for contactId's contact (or a sample one) and laid out as the print batch lays it out: return address (the workspace's sender postal address), the contact's address block, the body and a QR code. The QR code holds a placeholder personal URL that leads nowhere. Only mail templates have one (400 otherwise); a template that does not render for this contact answers 400 with the reason, as POST /templates/{id}/preview would say.",
        params: TemplateIdParams,
        querystring: Type.Object(
          {
            contactId: Type.Optional(Uuid),
            v: Type.Optional(
              Type.String({ maxLength: 40, description: "Ignored: lets a page ask again after a save" }),
            ),
          },
          { additionalProperties: false },
        ),
        produces: ["application/pdf"],
        response: { 200: Type.String({ description: "PDF" }), ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const ws = request.workspace;
      const { contactId } = request.query;
      const preview = await previewTemplate(db, ws, request.params.id, contactId ? { contactId } : {});
      if (preview.channel !== "mail") {
        throw validationFailed([
          { field: "id", message: `is a ${preview.channel} template: only direct-mail templates print` },
        ]);
      }
      if (!preview.ok || !preview.mail) throw validationFailed(preview.errors);
      const contact = contactId ? await getContact(db, ws, contactId) : SAMPLE_CONTACT;
      const { pdf } = await renderMailPiecePdf(
        {
          workspaceId: ws.id,
          messageId: null,
          idempotencyKey: `preview-${request.params.id}`,
          layout: preview.mail.layout,
          to: mailAddressOf(contact),
          returnAddress: await returnAddressFor(db, ws),
          body: preview.mail.body,
          purl: purlUrl(app.deps.config.publicUrl, PREVIEW_PURL_CODE),
        },
        { homeCountry: ws.defaultCountry },
      );
      return reply
        .type("application/pdf")
        .header("content-disposition", `inline; filename="preview-${request.params.id}.pdf"`)
        .header("cache-control", "no-store")
        .header("content-security-policy", "frame-ancestors 'self'")
        .header("x-frame-options", "SAMEORIGIN")
        .send(pdf as unknown as string);
    },
  );
}
