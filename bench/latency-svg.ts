import { percentile } from './stats';

/** One distribution drawn as a cumulative curve. */
export interface CdfSeries {
  name: string;
  color: string;
  /** Milliseconds. */
  values: readonly number[];
}

export interface CdfPanel {
  title: string;
  series: CdfSeries[];
}

export interface LatencyPicture {
  title: string;
  subtitle: string;
  panels: CdfPanel[];
}

const WIDTH = 1000;
const PANEL_HEIGHT = 330;
const HEADER = 64;
const MARGIN = { left: 70, right: 250, top: 34, bottom: 46 };

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[char]!);

const formatMs = (ms: number): string => (ms >= 1000 ? `${Number((ms / 1000).toPrecision(3))} s` : `${Number(ms.toPrecision(3))} ms`);

/**
 * The latency distributions of a run as cumulative curves on a logarithmic time axis, one
 * panel per scenario; each curve is labelled with its p50 and p99. Hand-written SVG: no
 * fonts or scripts beyond what every browser and image viewer has.
 */
export const renderLatencySvg = (picture: LatencyPicture): string => {
  const height = HEADER + picture.panels.length * PANEL_HEIGHT;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="26" font-size="17" font-weight="bold">${escapeXml(picture.title)}</text>`,
    `<text x="${MARGIN.left}" y="46" fill="#555">${escapeXml(picture.subtitle)}</text>`,
  ];
  for (const [index, panel] of picture.panels.entries()) parts.push(renderPanel(panel, HEADER + index * PANEL_HEIGHT));
  parts.push('</svg>');
  return parts.join('\n');
};

const renderPanel = (panel: CdfPanel, top: number): string => {
  const x0 = MARGIN.left;
  const x1 = WIDTH - MARGIN.right;
  const y0 = top + MARGIN.top;
  const y1 = top + PANEL_HEIGHT - MARGIN.bottom;
  const all = panel.series.flatMap((series) => series.values.filter((value) => value > 0 && Number.isFinite(value)));
  // Nothing the bench measures is worth reading below a millisecond: shorter times sit on the 1 ms line.
  const low = Math.floor(Math.log10(Math.max(1, all.length ? Math.min(...all) : 1)));
  const high = Math.ceil(Math.log10(Math.max(10, all.length ? Math.max(...all) : 10)));
  const span = Math.max(1, high - low);
  const xOf = (ms: number) => x0 + ((Math.log10(Math.max(ms, 10 ** low)) - low) / span) * (x1 - x0);
  const yOf = (fraction: number) => y1 - fraction * (y1 - y0);
  const out: string[] = [`<g>`, `<text x="${x0}" y="${top + 20}" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`];

  for (let decade = low; decade <= high; decade += 1) {
    for (const step of [1, 2, 5]) {
      const ms = step * 10 ** decade;
      if (decade === high && step > 1) continue;
      const x = xOf(ms).toFixed(1);
      out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="${step === 1 ? '#ccc' : '#eee'}"/>`);
      if (step === 1 || span <= 3) out.push(`<text x="${x}" y="${y1 + 16}" text-anchor="middle" fill="#444">${formatMs(ms)}</text>`);
    }
  }
  for (const fraction of [0, 0.25, 0.5, 0.75, 0.95, 0.99, 1]) {
    const y = yOf(fraction).toFixed(1);
    const strong = fraction === 0.5 || fraction === 0.99;
    out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="${strong ? '#bbb' : '#eee'}"${strong ? ' stroke-dasharray="4 3"' : ''}/>`);
    if (fraction !== 0.95 && fraction !== 0.99)
      out.push(`<text x="${x0 - 8}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end" fill="#444">${fraction * 100}%</text>`);
  }
  out.push(`<text x="${x0 - 8}" y="${(yOf(0.99) - 2).toFixed(1)}" text-anchor="end" fill="#444" font-size="10">p99</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${(x0 + x1) / 2}" y="${y1 + 34}" text-anchor="middle" fill="#222">milliseconds (log scale)</text>`);
  out.push(
    `<text x="${x0 - 52}" y="${(y0 + y1) / 2}" text-anchor="middle" fill="#222" transform="rotate(-90 ${x0 - 52} ${(y0 + y1) / 2})">share of copies at or below</text>`,
  );

  panel.series.forEach((series, index) => {
    const sorted = series.values
      .filter((value) => Number.isFinite(value))
      .map((value) => Math.max(value, 10 ** low))
      .sort((a, b) => a - b);
    if (sorted.length > 0) {
      const points: string[] = [`${xOf(sorted[0]!).toFixed(1)},${yOf(0).toFixed(1)}`];
      sorted.forEach((value, rank) => {
        const x = xOf(value).toFixed(1);
        points.push(`${x},${yOf(rank / sorted.length).toFixed(1)}`, `${x},${yOf((rank + 1) / sorted.length).toFixed(1)}`);
      });
      out.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${points.join(' ')}"/>`);
    }
    // Two lines per entry while they fit beside the panel, else one line each.
    const step = Math.min(38, (y1 - y0 - 8) / Math.max(1, panel.series.length));
    const legendY = y0 + 14 + index * step;
    const stats = sorted.length ? `p50 ${formatMs(percentile(sorted, 50))}, p99 ${formatMs(percentile(sorted, 99))}` : 'no samples';
    out.push(`<line x1="${x1 + 16}" y1="${legendY - 4}" x2="${x1 + 40}" y2="${legendY - 4}" stroke="${series.color}" stroke-width="3"/>`);
    if (step >= 30) {
      out.push(`<text x="${x1 + 46}" y="${legendY}" fill="#222">${escapeXml(series.name)}</text>`);
      out.push(`<text x="${x1 + 46}" y="${legendY + 15}" fill="#666" font-size="11">${escapeXml(`n ${sorted.length}, ${stats}`)}</text>`);
    } else {
      out.push(
        `<text x="${x1 + 46}" y="${legendY}" fill="#222" font-size="11">${escapeXml(series.name)} <tspan fill="#666">${escapeXml(stats)}</tspan></text>`,
      );
    }
  });
  out.push('</g>');
  return out.join('\n');
};
