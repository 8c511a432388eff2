// uPlot charts as preact components: the chart is made once and given new data on each push,
// so a live page does not flicker or lose its size.
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { AnalysisRound, HistoryPoint } from '../views.ts';

const seconds = (at: string) => Date.parse(at) / 1000;

function Chart({ options, data, testId }: { options: uPlot.Options; data: uPlot.AlignedData; testId: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  useEffect(() => {
    if (box.current === null) return undefined;
    chart.current = new uPlot({ ...options, width: Math.max(box.current.clientWidth, 320) }, data, box.current);
    return () => chart.current?.destroy();
  }, []);
  useEffect(() => chart.current?.setData(data), [data]);
  return html`<div class="chart" data-testid=${testId} ref=${box}></div>`;
}

/** The canary weight as a step line, drawn to now: the last weight holds until it changes. */
export function WeightChart({ points, now }: { points: HistoryPoint[]; now: number }) {
  const xs = points.map((point) => seconds(point.at));
  const ys = points.map((point) => point.weight);
  if (points.length > 0) {
    xs.push(Math.max(now / 1000, xs.at(-1) ?? 0));
    ys.push(ys.at(-1) ?? 0);
  }
  const options: uPlot.Options = {
    width: 600, height: 180,
    scales: { y: { range: [0, 100] } },
    series: [{}, { label: 'canary weight %', stroke: '#d9480f', width: 2, fill: 'rgba(217,72,15,0.08)', paths: uPlot.paths.stepped!({ align: 1 }) }],
    axes: [{}, { values: (_chart, ticks) => ticks.map((tick) => `${tick}%`) }],
  };
  return html`<${Chart} options=${options} data=${[xs, ys]} testId="weight-chart" />`;
}

/** One check's measured value in each round, against its limit. */
export function MetricChart({ name, rounds }: { name: string; rounds: AnalysisRound[] }) {
  const results = rounds.flatMap((round) => {
    const result = round.results.find((check) => check.name === name);
    return result === undefined ? [] : [{ at: seconds(round.at), value: result.value ?? null, limit: result.limit ?? null }];
  });
  const options: uPlot.Options = {
    width: 600, height: 160,
    // One round alone would span uPlot's default of years around it: a minute either side instead.
    scales: { x: { time: true, range: (_chart, min, max) => (max - min < 60 ? [min - 30, max + 30] : [min, max]) } },
    series: [
      {},
      { label: `${name} measured`, stroke: '#1971c2', width: 2, points: { show: true, size: 6 } },
      { label: 'limit', stroke: '#c92a2a', width: 1, dash: [6, 4], points: { show: false } },
    ],
  };
  const data: uPlot.AlignedData = [results.map((r) => r.at), results.map((r) => r.value), results.map((r) => r.limit)];
  return html`<${Chart} options=${options} data=${data} testId=${`metric-chart-${name}`} />`;
}
