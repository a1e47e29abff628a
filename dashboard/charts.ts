/**
 * The dashboard's Plotly charts: throughput and latency over time, the live score histogram, and
 * online quality over time. Each keeps a bounded history (the last few minutes).
 */
import Plotly from "plotly.js-dist-min";

/** Points kept per series: five minutes of one-second summaries. */
const HISTORY_MAX = 300;
/** Sampled scores kept for the histogram. */
const SCORES_MAX = 2_000;

const LAYOUT = {
  margin: { l: 40, r: 40, t: 10, b: 30 },
  legend: { orientation: "h", y: -0.2 },
  font: { size: 11 },
};
const CONFIG = { displayModeBar: false, responsive: true };

function push<T>(list: T[], value: T, max: number): void {
  list.push(value);
  if (list.length > max) list.splice(0, list.length - max);
}

export class Charts {
  /** Plotly redraws a trace only when told its data changed; the arrays are mutated in place. */
  private revision = 0;
  private readonly times: Date[] = [];
  private readonly rates: number[] = [];
  private readonly p50: (number | null)[] = [];
  private readonly p99: (number | null)[] = [];
  private readonly scores: number[] = [];
  private readonly qualityTimes: Date[] = [];
  private readonly quality: Record<string, (number | null)[]> = {
    pr_auc: [],
    precision: [],
    recall: [],
  };

  constructor(
    private readonly rate: HTMLElement,
    private readonly histogram: HTMLElement,
    private readonly qualityChart: HTMLElement,
  ) {}

  reset(): void {
    for (const list of [
      this.times,
      this.rates,
      this.p50,
      this.p99,
      this.scores,
      this.qualityTimes,
    ]) {
      list.length = 0;
    }
    for (const list of Object.values(this.quality)) list.length = 0;
  }

  addSummary(atMs: number, scoresPerSecond: number, p50: number | null, p99: number | null): void {
    push(this.times, new Date(atMs), HISTORY_MAX);
    push(this.rates, scoresPerSecond, HISTORY_MAX);
    push(this.p50, p50, HISTORY_MAX);
    push(this.p99, p99, HISTORY_MAX);
    void Plotly.react(
      this.rate,
      [
        { x: this.times, y: this.rates, name: "scores/s", type: "scatter", mode: "lines" },
        { x: this.times, y: this.p50, name: "p50 ms", yaxis: "y2", type: "scatter", mode: "lines" },
        { x: this.times, y: this.p99, name: "p99 ms", yaxis: "y2", type: "scatter", mode: "lines" },
      ],
      {
        ...LAYOUT,
        datarevision: ++this.revision,
        yaxis: { title: { text: "scores/s" }, rangemode: "tozero" },
        yaxis2: { title: { text: "ms" }, overlaying: "y", side: "right", rangemode: "tozero" },
      },
      CONFIG,
    );
  }

  addScores(scores: number[]): void {
    for (const score of scores) push(this.scores, score, SCORES_MAX);
  }

  drawHistogram(threshold: number | null): void {
    const shapes =
      threshold === null
        ? []
        : [
            {
              type: "line",
              x0: threshold,
              x1: threshold,
              yref: "paper",
              y0: 0,
              y1: 1,
              line: { color: "#c0392b", dash: "dot" },
            },
          ];
    void Plotly.react(
      this.histogram,
      [
        {
          x: this.scores,
          type: "histogram",
          xbins: { start: 0, end: 1, size: 0.025 },
          marker: { color: "#2f5bea" },
        },
      ],
      {
        ...LAYOUT,
        datarevision: ++this.revision,
        xaxis: { range: [0, 1], title: { text: "score" } },
        yaxis: { title: { text: "events (sampled)" } },
        shapes,
      },
      CONFIG,
    );
  }

  addQuality(atMs: number, metrics: Record<string, number | null>): void {
    if (this.qualityTimes.length === 0) this.qualityChart.replaceChildren();
    push(this.qualityTimes, new Date(atMs), HISTORY_MAX);
    for (const [name, list] of Object.entries(this.quality)) {
      push(list, metrics[name] ?? null, HISTORY_MAX);
    }
    void Plotly.react(
      this.qualityChart,
      Object.entries(this.quality).map(([name, y]) => ({
        x: this.qualityTimes,
        y,
        name,
        type: "scatter",
        mode: "lines",
      })),
      { ...LAYOUT, datarevision: ++this.revision, yaxis: { range: [0, 1] } },
      CONFIG,
    );
  }
}
