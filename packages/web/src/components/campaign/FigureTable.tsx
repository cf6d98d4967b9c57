/**
 * A compact report table: a visually hidden caption, column headings (figures right-aligned) and one row
 * per item whose `rowHeader` column names the row.
 */
import type { ReactNode } from "react";

export interface FigureColumn {
  label: ReactNode;
  /** A figure: right-aligned. */
  num?: boolean;
  /** This column's cell names the row (a row header). */
  rowHeader?: boolean;
}

export interface FigureRow {
  key: string;
  cells: ReactNode[];
}

export function FigureTable({
  caption,
  columns,
  rows,
}: {
  caption: ReactNode;
  columns: FigureColumn[];
  rows: FigureRow[];
}) {
  return (
    <div className="table-wrap">
      <table className="table compact">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the columns are fixed for a table
              <th key={i} scope="col" className={c.num ? "num" : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key}>
              {row.cells.map((cell, i) => {
                const c = columns[i];
                if (c?.rowHeader)
                  return (
                    // biome-ignore lint/suspicious/noArrayIndexKey: the columns are fixed for a table
                    <th key={i} scope="row">
                      {cell}
                    </th>
                  );
                return (
                  // biome-ignore lint/suspicious/noArrayIndexKey: the columns are fixed for a table
                  <td key={i} className={c?.num ? "num" : undefined}>
                    {cell}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Numeric columns, one per label. */
export function figureColumns(...labels: string[]): FigureColumn[] {
  return labels.map((label) => ({ label, num: true }));
}
