/**
 * Import contacts from a CSV file in three steps: choose the file (the browser reads its first lines and
 * shows them with the column mapping it detected), check or change where each column goes, and import
 * (upload progress, then the server's progress with rows per second, then a summary with the rejected
 * rows). Below it, the workspace's recent imports.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { ApiError, type Import } from "../../api.ts";
import { can, useSession } from "../../session.ts";
import { Alert, messageOf } from "../feedback.tsx";
import {
  CONTACT_FIELDS,
  type ColumnChoice,
  type CsvPreview,
  DELIMITER_NAMES,
  FIELD_LABELS,
  hasIdentifier,
  mappingOf,
  mappingProblems,
  previewFile,
  targetOf,
  toAttributeKey,
} from "./csvPreview.ts";
import { importsApi, uploadImport } from "./upload.ts";

const PREVIEW_ROWS_SHOWN = 10;
const FINISHED = new Set(["completed", "failed"]);

export function ImportWizard() {
  const session = useSession();
  const writer = can(session.role, "write");
  const queryClient = useQueryClient();
  const inputId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<CsvPreview>();
  const [choices, setChoices] = useState<ColumnChoice[]>([]);
  const [fileError, setFileError] = useState<string>();
  const [mappingError, setMappingError] = useState<string>();
  const [importId, setImportId] = useState<string>();
  const [sent, setSent] = useState<{ loaded: number; total: number }>();

  const upload = useMutation({
    mutationFn: (input: { file: File; mapping: Record<string, string> }) =>
      uploadImport(input.file, input.mapping, session.csrfToken, (loaded, total) =>
        setSent({ loaded, total }),
      ),
    onSuccess: (accepted) => {
      setImportId(accepted.id);
      queryClient.invalidateQueries({ queryKey: ["imports"] });
    },
    onError: (error) => {
      if (error instanceof ApiError && error.fields.mapping) setMappingError(error.message);
      else if (error instanceof ApiError && error.fields.file) setFileError(error.message);
    },
  });
  const status = useQuery({
    queryKey: ["import", importId],
    queryFn: () => importsApi.status(importId!),
    enabled: Boolean(importId),
    refetchInterval: (query) => {
      if (FINISHED.has(query.state.data?.status ?? "")) {
        queryClient.invalidateQueries({ queryKey: ["contacts"] });
        queryClient.invalidateQueries({ queryKey: ["imports"] });
        return false;
      }
      return 1000;
    },
  });

  async function choose(chosen: File | null) {
    setFile(chosen);
    setPreview(undefined);
    setChoices([]);
    setFileError(undefined);
    setMappingError(undefined);
    setImportId(undefined);
    setSent(undefined);
    upload.reset();
    if (!chosen) return;
    if (!/\.(csv|txt|tsv)$/i.test(chosen.name)) {
      setFileError("Choose a .csv file: export your spreadsheet as CSV (Comma-separated values) first.");
      return;
    }
    try {
      const read = await previewFile(chosen);
      setPreview(read);
      setChoices(read.choices);
      if (read.problem) setFileError(read.problem);
    } catch {
      setFileError("The file cannot be read. Choose it again, or export it again as CSV.");
    }
  }

  const problems = preview ? mappingProblems(preview.headers, choices) : new Map<number, string>();

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return setFileError("Choose a CSV file first");
    if (fileError) return;
    if (!preview) return setFileError("The file is still being read: try again in a moment.");
    if (!hasIdentifier(choices)) {
      return setMappingError(
        "Choose a column for Email, Phone or Customer id: every contact is matched on one of them.",
      );
    }
    if (problems.size > 0) return setMappingError("Fix the columns marked below first.");
    setMappingError(undefined);
    setImportId(undefined);
    setSent(undefined);
    upload.mutate({ file, mapping: mappingOf(preview, choices) });
  }

  function change(index: number, choice: ColumnChoice) {
    setChoices((current) => current.map((c, i) => (i === index ? choice : c)));
    setMappingError(undefined);
  }

  const current = status.data;
  const step =
    current?.status === "completed"
      ? 4
      : current || upload.isPending
        ? 3
        : preview && !preview.problem
          ? 2
          : 1;
  const describedBy = fileError ? `${inputId}-error` : `${inputId}-hint`;
  return (
    <section className="card import-wizard" aria-labelledby="import-heading">
      <h2 id="import-heading">Import contacts from a CSV file</h2>
      {writer ? null : <p className="muted small">Viewers cannot import contacts.</p>}
      <ol className="import-steps" aria-label="Import steps">
        {["Choose a file", "Check the columns", "Import"].map((label, index) => (
          <li
            key={label}
            className={index + 1 < step ? "done" : index + 1 === step ? "current" : undefined}
            aria-current={index + 1 === step ? "step" : undefined}
          >
            {label}
          </li>
        ))}
      </ol>
      <form onSubmit={submit} noValidate aria-label="Import contacts">
        <div className={`field${fileError ? " field-invalid" : ""}`}>
          <label htmlFor={inputId}>CSV file</label>
          <input
            id={inputId}
            type="file"
            accept=".csv,.tsv,.txt,text/csv"
            disabled={!writer || upload.isPending}
            aria-invalid={fileError ? true : undefined}
            aria-describedby={describedBy}
            onChange={(event) => void choose(event.target.files?.[0] ?? null)}
          />
          <p id={`${inputId}-hint`} className="field-hint">
            Exports from HubSpot, Shopify, Mailchimp and spreadsheets work as they are. The first line must
            name the columns, and one column must hold an email, a phone number or a customer id.
          </p>
          {fileError ? (
            <p id={`${inputId}-error`} className="field-error">
              {fileError}
            </p>
          ) : null}
        </div>

        {preview && !preview.problem ? (
          <MappingTable
            preview={preview}
            choices={choices}
            problems={problems}
            error={mappingError}
            disabled={!writer || upload.isPending}
            onChange={change}
          />
        ) : null}
        {mappingError && !(preview && !preview.problem) ? <Alert>{mappingError}</Alert> : null}

        <div className="form-actions">
          <button type="submit" className="button primary" disabled={!writer || upload.isPending}>
            {upload.isPending ? "Uploading…" : "Import contacts"}
          </button>
          {file && !upload.isPending && !current ? (
            <span className="muted small">
              {file.name} · {formatBytes(file.size)}
            </span>
          ) : null}
        </div>
      </form>

      {upload.isPending && sent ? (
        <div className="import-status" aria-live="polite">
          <progress max={sent.total || 1} value={sent.loaded} aria-label="Upload progress" />
          <p>
            Uploading {file?.name}… {Math.round((sent.loaded / (sent.total || 1)) * 100)}%
          </p>
        </div>
      ) : null}
      {upload.error && !(upload.error instanceof ApiError && upload.error.fields.mapping) ? (
        <Alert>{messageOf(upload.error)}</Alert>
      ) : null}
      {status.error ? <Alert>{messageOf(status.error)}</Alert> : null}
      {current ? <ImportProgress item={current} /> : null}

      <RecentImports />
    </section>
  );
}

function MappingTable({
  preview,
  choices,
  problems,
  error,
  disabled,
  onChange,
}: {
  preview: CsvPreview;
  choices: ColumnChoice[];
  problems: Map<number, string>;
  error: string | undefined;
  disabled: boolean;
  onChange: (index: number, choice: ColumnChoice) => void;
}) {
  const errorId = useId();
  const rows = preview.rows.slice(0, PREVIEW_ROWS_SHOWN);
  return (
    <fieldset className="import-mapping" aria-describedby={error ? errorId : undefined}>
      <legend>Check the columns</legend>
      <p className="muted small">
        {preview.headers.length} columns separated by {DELIMITER_NAMES[preview.delimiter]}. Each column goes
        to the contact field chosen under its name; columns we did not recognise are kept as custom attributes
        you can use in audiences and templates. Change any choice, or pick “Ignore” to leave a column out.
      </p>
      {error ? (
        <p id={errorId} className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="table-wrap import-preview">
        <table className="table">
          <caption className="table-caption">
            Preview: the first {rows.length} {rows.length === 1 ? "row" : "rows"} of the file
          </caption>
          <thead>
            <tr>
              {preview.headers.map((header, index) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional
                <th key={index} scope="col">
                  {header}
                </th>
              ))}
            </tr>
            <tr className="mapping-row">
              {preview.headers.map((header, index) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional
                <td key={index}>
                  <ColumnSelect
                    header={header}
                    index={index}
                    choice={choices[index] ?? { kind: "ignore" }}
                    detected={
                      targetOf(choices[index] ?? { kind: "ignore" }) === targetOf(preview.choices[index]!)
                    }
                    problem={problems.get(index)}
                    disabled={disabled || preview.duplicates.has(header)}
                    onChange={(choice) => onChange(index, choice)}
                  />
                </td>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, r) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows of a preview never move
              <tr key={r}>
                {preview.headers.map((header, c) => (
                  <td
                    key={header + String(c)}
                    className={choices[c]?.kind === "ignore" ? "ignored" : undefined}
                  >
                    {row[c] ?? ""}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </fieldset>
  );
}

function ColumnSelect({
  header,
  index,
  choice,
  detected,
  problem,
  disabled,
  onChange,
}: {
  header: string;
  index: number;
  choice: ColumnChoice;
  detected: boolean;
  problem: string | undefined;
  disabled: boolean;
  onChange: (choice: ColumnChoice) => void;
}) {
  const id = useId();
  const value = choice.kind === "field" ? choice.field : choice.kind;
  const describedBy = [`${id}-state`, problem ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div className={`column-choice${problem ? " field-invalid" : ""}`}>
      <label htmlFor={id} className="visually-hidden">
        Column “{header}” goes to
      </label>
      <select
        id={id}
        value={value}
        disabled={disabled}
        aria-invalid={problem ? true : undefined}
        aria-describedby={describedBy}
        onChange={(event) => {
          const next = event.target.value;
          if (next === "ignore") onChange({ kind: "ignore" });
          else if (next === "attribute")
            onChange({ kind: "attribute", key: toAttributeKey(header, `column_${index + 1}`) });
          else onChange({ kind: "field", field: next as (typeof CONTACT_FIELDS)[number] });
        }}
      >
        <optgroup label="Contact fields">
          {CONTACT_FIELDS.map((field) => (
            <option key={field} value={field}>
              {FIELD_LABELS[field]}
            </option>
          ))}
        </optgroup>
        <optgroup label="Other">
          <option value="attribute">Custom attribute</option>
          <option value="ignore">Ignore this column</option>
        </optgroup>
      </select>
      {choice.kind === "attribute" ? (
        <>
          <label htmlFor={`${id}-key`} className="visually-hidden">
            Attribute name for “{header}”
          </label>
          <input
            id={`${id}-key`}
            className="attribute-key"
            value={choice.key}
            disabled={disabled}
            spellCheck={false}
            aria-invalid={problem ? true : undefined}
            aria-describedby={describedBy}
            onChange={(event) => onChange({ kind: "attribute", key: event.target.value.trim() })}
          />
        </>
      ) : null}
      <span id={`${id}-state`} className={`mapping-state ${detected ? "detected" : "changed"}`}>
        {disabled && !detected ? "" : detected ? "Detected" : "Changed by you"}
      </span>
      {problem ? (
        <p id={`${id}-error`} className="field-error">
          {problem}
        </p>
      ) : null}
    </div>
  );
}

/** The server's progress, then its summary with the rejected rows. */
function ImportProgress({ item }: { item: Import }) {
  const finished = FINISHED.has(item.status);
  const rate = rowsPerSecond(item);
  return (
    <div className="import-status" aria-live="polite">
      <progress max={1} value={finished ? 1 : item.progress} aria-label="Import progress" />
      <p>
        {item.status === "completed"
          ? `Done: ${item.counts.inserted} added, ${item.counts.updated} updated, ${item.counts.rejected} rejected.`
          : item.status === "failed"
            ? `The import failed: ${item.error ?? "unknown error"}`
            : item.status === "processing"
              ? `Importing… ${item.counts.rows.toLocaleString()} rows read (${Math.round(item.progress * 100)}%)`
              : "Waiting for a worker to start the import…"}
        {rate && !finished ? ` · ${rate.toLocaleString()} rows/s` : null}
      </p>
      {item.status !== "failed" ? (
        <dl className="import-counts">
          <Count label="Rows read" value={item.counts.rows} />
          <Count label="Added" value={item.counts.inserted} />
          <Count label="Updated" value={item.counts.updated} />
          <Count label="Rejected" value={item.counts.rejected} />
          {item.counts.mergedDuplicates ? (
            <Count label="Duplicates merged" value={item.counts.mergedDuplicates} />
          ) : null}
          {finished && rate ? <Count label="Rows per second" value={rate} /> : null}
        </dl>
      ) : null}
      {item.detected?.warnings.length ? (
        <div className="notice">
          <p>Worth a look:</p>
          <ul>
            {item.detected.warnings.map((warning) => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {finished && item.counts.rejected > 0 ? <Rejections item={item} /> : null}
    </div>
  );
}

function Rejections({ item }: { item: Import }) {
  const headingId = useId();
  return (
    <section className="import-rejections" aria-labelledby={headingId}>
      <div className="section-header">
        <h3 id={headingId}>
          {item.counts.rejected} rejected {item.counts.rejected === 1 ? "row" : "rows"}
        </h3>
        <a className="button secondary small" href={importsApi.rejectionsUrl(item.id)} download>
          Download rejected rows
        </a>
      </div>
      <p className="muted small">
        Fix these rows in the downloaded file (it keeps your columns) and import it again.
        {item.counts.rejected > item.rejections.length
          ? ` The first ${item.rejections.length} are listed here.`
          : null}
      </p>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Rejected rows</caption>
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col">Column</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {item.rejections.map((r) => (
              <tr key={`${r.line}-${r.field ?? ""}`}>
                <th scope="row">Line {r.line}</th>
                <td>{r.field ?? "—"}</td>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Count({ label, value }: { label: string; value: number }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value.toLocaleString()}</dd>
    </div>
  );
}

function rowsPerSecond(item: Import): number | undefined {
  if (!item.startedAt || item.counts.rows === 0) return undefined;
  const end = item.finishedAt ? Date.parse(item.finishedAt) : Date.now();
  const seconds = Math.max((end - Date.parse(item.startedAt)) / 1000, 0.001);
  return Math.round(item.counts.rows / seconds);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const RECENT_PAGE = 10;

function RecentImports() {
  const recent = useQuery({ queryKey: ["imports"], queryFn: importsApi.recent });
  const [page, setPage] = useState(0);
  const items = recent.data?.data ?? [];
  if (recent.error) return <Alert>{messageOf(recent.error)}</Alert>;
  if (items.length === 0) return null;
  const pages = Math.ceil(items.length / RECENT_PAGE);
  const shown = items.slice(page * RECENT_PAGE, (page + 1) * RECENT_PAGE);
  return (
    <details className="recent-imports">
      <summary>Recent imports ({items.length})</summary>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Recent imports</caption>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Started</th>
              <th scope="col">Status</th>
              <th scope="col">Added</th>
              <th scope="col">Updated</th>
              <th scope="col">Rejected</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((item) => (
              <tr key={item.id}>
                <th scope="row">{item.filename ?? "(no name)"}</th>
                <td>{new Date(item.createdAt).toLocaleString()}</td>
                <td>
                  <span
                    className={`badge ${item.status === "completed" ? "success" : item.status === "failed" ? "danger" : "info"}`}
                  >
                    {item.status}
                  </span>
                </td>
                <td>{item.counts.inserted.toLocaleString()}</td>
                <td>{item.counts.updated.toLocaleString()}</td>
                <td>
                  {item.counts.rejected > 0 ? (
                    <a href={importsApi.rejectionsUrl(item.id)} download>
                      {item.counts.rejected.toLocaleString()}
                      <span className="visually-hidden">
                        {" "}
                        rejected rows of {item.filename ?? "the import"}: download
                      </span>
                    </a>
                  ) : (
                    0
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {pages > 1 ? (
        <nav className="pager" aria-label="Pages of recent imports">
          <button
            type="button"
            className="button secondary small"
            disabled={page === 0}
            onClick={() => setPage(page - 1)}
          >
            Previous page
          </button>
          <span className="muted small">
            Page {page + 1} of {pages}
          </span>
          <button
            type="button"
            className="button secondary small"
            disabled={page + 1 >= pages}
            onClick={() => setPage(page + 1)}
          >
            Next page
          </button>
        </nav>
      ) : null}
    </details>
  );
}
