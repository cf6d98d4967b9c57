/** Cursor pagination as every list of the web app does it: the cursors seen so far, and the buttons. */
import { useState } from "react";

export interface CursorPages {
  /** The cursor of the page on screen (undefined: the first). */
  cursor: string | undefined;
  /** Its number, from 1. */
  page: number;
  /** Back to the first page (after the filters change). */
  reset(): void;
  next(cursor: string | null | undefined): void;
  previous(): void;
}

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length,
    reset: () => setCursors([undefined]),
    next: (cursor) => setCursors([...cursors, cursor ?? undefined]),
    previous: () => setCursors(cursors.slice(0, -1)),
  };
}

/** Previous and next buttons with the page number; `labels` when "newer/older" says it better. */
export function Pager({
  pages,
  nextCursor,
  label,
  labels = ["Previous page", "Next page"],
}: {
  pages: CursorPages;
  nextCursor: string | null | undefined;
  /** What the navigation is called for assistive technology, e.g. "Pages of contacts". */
  label: string;
  labels?: [string, string];
}) {
  return (
    <nav className="pager" aria-label={label}>
      <button
        type="button"
        className="button secondary small"
        disabled={pages.page === 1}
        onClick={pages.previous}
      >
        {labels[0]}
      </button>
      <span className="muted small">Page {pages.page}</span>
      <button
        type="button"
        className="button secondary small"
        disabled={!nextCursor}
        onClick={() => pages.next(nextCursor)}
      >
        {labels[1]}
      </button>
    </nav>
  );
}
