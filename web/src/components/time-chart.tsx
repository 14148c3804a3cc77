/**
 * A uPlot line chart over days, sized to its container. Each chart is a figure with a
 * caption, and its numbers are also available as a table for screen readers.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

interface Props {
  id: string;
  title: string;
  /** Seconds since the epoch, one per point. */
  x: number[];
  series: ChartSeries[];
  format?: (value: number) => string;
  /** Buckets are hours rather than days (changes the table's time labels). */
  hourly?: boolean;
  /** Counts: the value axis steps in whole numbers. */
  integer?: boolean;
}

const WHOLE_STEPS = [1, 2, 5]
  .flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].map((p) => m * p))
  .sort((a, b) => a - b);

const HEIGHT = 200;

export function TimeChart({
  id,
  title,
  x,
  series,
  format = (v) => String(v),
  hourly = false,
  integer = false,
}: Props) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = () => Math.max(element.clientWidth, 240);
    const plot = new uPlot(
      {
        width: width(),
        height: HEIGHT,
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(max, 1)] } },
        axes: [
          { stroke: 'currentColor', grid: { stroke: 'rgba(127,127,127,0.15)' } },
          {
            stroke: 'currentColor',
            grid: { stroke: 'rgba(127,127,127,0.15)' },
            values: (_u, ticks) => ticks.map((t) => format(t)),
            size: 60,
            ...(integer ? { incrs: WHOLE_STEPS } : {}),
          },
        ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            fill: `${s.color}22`,
            points: { show: x.length < 40 },
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
          })),
        ],
      },
      [x, ...series.map((s) => s.values)] as uPlot.AlignedData,
      element,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: HEIGHT }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [x, series, format, integer]);

  return (
    <figure class="chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <div ref={box} class="chart-box" aria-hidden="true" />
      <details class="chart-data">
        <summary>Show as table</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{hourly ? 'Hour (UTC)' : 'Day'}</th>
                {series.map((s) => (
                  <th key={s.label} scope="col">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {x.map((t, i) => (
                <tr key={t}>
                  <th scope="row">
                    {new Date(t * 1000)
                      .toISOString()
                      .slice(0, hourly ? 16 : 10)
                      .replace('T', ' ')}
                  </th>
                  {series.map((s) => {
                    const v = s.values[i];
                    return <td key={s.label}>{v === null || v === undefined ? '—' : format(v)}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
