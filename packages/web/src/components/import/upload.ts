/**
 * Sends a CSV file with its column mapping as multipart/form-data (the mapping first: the server reads
 * fields before the file), reporting the bytes sent as they go. XMLHttpRequest, because fetch cannot
 * report upload progress. Problems come back as ApiError, like every other call of the app.
 */
import type { ImportAccepted } from "@omneural/contracts/imports";
import type { Static } from "typebox";
import { ApiError, type Import, request } from "../../api.ts";

export function uploadImport(
  file: File,
  mapping: Record<string, string>,
  csrfToken: string,
  onProgress: (sent: number, total: number) => void,
): Promise<Static<typeof ImportAccepted>> {
  const form = new FormData();
  form.append("mapping", JSON.stringify(mapping));
  form.append("file", file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/contacts/imports?filename=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader("accept", "application/json");
    xhr.setRequestHeader("x-csrf-token", csrfToken);
    xhr.upload.onprogress = (event) =>
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onerror = () =>
      reject(
        new ApiError({
          status: 0,
          code: "NETWORK",
          detail: "The server cannot be reached. Check your connection and try again.",
        }),
      );
    xhr.onload = () => {
      let payload: unknown;
      try {
        payload = JSON.parse(xhr.responseText);
      } catch {
        payload = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(payload as Static<typeof ImportAccepted>);
      else if (payload && typeof payload === "object") reject(new ApiError(payload as ApiError["problem"]));
      else
        reject(
          new ApiError({
            status: xhr.status,
            code: "HTTP_ERROR",
            detail:
              xhr.status === 413 ? "The file is too large to import." : `Upload failed (${xhr.status}).`,
          }),
        );
    };
    xhr.send(form);
  });
}

export const importsApi = {
  status: (id: string) => request<Import>("GET", `/api/v1/contacts/imports/${encodeURIComponent(id)}`),
  recent: () => request<{ data: Import[] }>("GET", "/api/v1/contacts/imports"),
  rejectionsUrl: (id: string) => `/api/v1/contacts/imports/${encodeURIComponent(id)}/rejections.csv`,
};
