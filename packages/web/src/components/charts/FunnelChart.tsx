/**
 * The funnel: how many messages got as far as each stage (sent, delivered, opened, clicked, converted),
 * as horizontal bars with their numbers, and the same figures as a table for those who cannot see it.
 */
import {
  Bar,
  BarChart,
  CartesianGrid,
  LabelList,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

export interface FunnelStage {
  stage: string;
  count: number;
  /** The stage's rate and what it is of (e.g. 0.46 "of emails sent"); without it the row shows "—". */
  rate?: { value: number; of: string };
}

export function FunnelChart({ stages, title }: { stages: FunnelStage[]; title: string }) {
  const top = Math.max(...stages.map((s) => s.count), 1);
  return (
    <figure className="chart">
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart-frame" aria-hidden="true">
        <ResponsiveContainer width="100%" height={Math.max(220, stages.length * 44)}>
          <BarChart
            accessibilityLayer={false}
            data={stages}
            layout="vertical"
            margin={{ top: 4, right: 56, bottom: 4, left: 8 }}
          >
            <CartesianGrid horizontal={false} strokeDasharray="3 3" />
            <XAxis type="number" allowDecimals={false} domain={[0, top]} />
            <YAxis type="category" dataKey="stage" width={96} />
            <Tooltip />
            <Bar dataKey="count" name="Messages" fill="#4338ca" isAnimationActive={false}>
              <LabelList dataKey="count" position="right" />
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <table className="table compact funnel-table">
        <caption className="visually-hidden">{title}</caption>
        <thead>
          <tr>
            <th scope="col">Stage</th>
            <th scope="col" className="num">
              Count
            </th>
            <th scope="col" className="num">
              Rate
            </th>
          </tr>
        </thead>
        <tbody>
          {stages.map((s) => (
            <tr key={s.stage}>
              <th scope="row">{s.stage}</th>
              <td className="num">{s.count.toLocaleString()}</td>
              <td className="num">{s.rate ? `${(s.rate.value * 100).toFixed(1)}% of ${s.rate.of}` : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
