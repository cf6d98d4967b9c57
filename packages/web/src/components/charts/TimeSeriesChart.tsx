/** What happened hour by hour: entries, sends, opens, clicks and conversions, as lines over time. */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface TimeSeriesPoint {
  at: string;
  [series: string]: number | string;
}

const COLOURS = ["#4338ca", "#0f766e", "#b45309", "#be185d", "#166534", "#475569"];

export function TimeSeriesChart({
  points,
  series,
  title,
}: {
  points: TimeSeriesPoint[];
  series: { key: string; label: string }[];
  title: string;
}) {
  const hour = (iso: string) =>
    new Date(iso).toLocaleString(undefined, {
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
    });
  const data = points.map((p): TimeSeriesPoint & { label: string } => ({ ...p, label: hour(p.at) }));
  return (
    <figure className="chart">
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart-frame" aria-hidden="true">
        <ResponsiveContainer width="100%" height={260}>
          <LineChart
            accessibilityLayer={false}
            data={data}
            margin={{ top: 8, right: 16, bottom: 4, left: 0 }}
          >
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" minTickGap={24} />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Legend />
            {series.map((s, i) => (
              <Line
                key={s.key}
                type="monotone"
                dataKey={s.key}
                name={s.label}
                stroke={COLOURS[i % COLOURS.length]}
                strokeWidth={2}
                dot={data.length < 3}
                isAnimationActive={false}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <details className="chart-data">
        <summary>Show the figures as a table</summary>
        <div className="table-wrap">
          <table className="table compact">
            <caption className="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Hour</th>
                {series.map((s) => (
                  <th key={s.key} scope="col" className="num">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.map((p) => (
                <tr key={p.at}>
                  <th scope="row">{p.label}</th>
                  {series.map((s) => (
                    <td key={s.key} className="num">
                      {Number(p[s.key] ?? 0).toLocaleString()}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
