// Draws a value-over-time line as inline SVG, from points the core prepared: `[t, value, y]` with
// `y` from 0 (the range's lowest value) to 1000 (its highest), and null value and y in a gap. No
// arithmetic on money happens here: only times and the core's integer heights become pixels.

const SVG = 'http://www.w3.org/2000/svg';
const HEIGHT_SCALE = 1000;

function node(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/**
 * Replaces `svg`'s content with the line of `points`, `width` × `height` pixels with `pad` around.
 * Returns the drawn positions `[{ x, y, t, value }]` (gaps left out), for hover and keyboard reading.
 */
export function drawChart(svg, points, { width, height, pad = 4 }) {
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const drawn = points.filter(([, value]) => value !== null && value !== undefined);
  if (drawn.length === 0) return [];
  const first = drawn[0][0];
  const span = Math.max(1, drawn.at(-1)[0] - first);
  const x = (t) => pad + ((t - first) / span) * (width - 2 * pad);
  const y = (h) => height - pad - (h / HEIGHT_SCALE) * (height - 2 * pad);
  const positions = [];
  let segment = [];
  const segments = [segment];
  for (const [t, value, h] of points) {
    if (value === null || value === undefined) {
      segment = [];
      segments.push(segment);
      continue;
    }
    const position = { x: x(t), y: drawn.length === 1 ? height / 2 : y(h), t, value };
    segment.push(position);
    positions.push(position);
  }
  for (const part of segments.filter((s) => s.length)) {
    const d = part.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join('');
    if (part.length > 1) {
      const area = `${d}L${part.at(-1).x.toFixed(1)},${height - pad}L${part[0].x.toFixed(1)},${height - pad}Z`;
      svg.append(node('path', { d: area, class: 'chart-area' }));
      svg.append(node('path', { d, class: 'chart-line' }));
    } else {
      svg.append(node('circle', { cx: part[0].x, cy: part[0].y, r: 2, class: 'chart-dot' }));
    }
  }
  return positions;
}

/** A marker at `position` (or none), for hover and keyboard reading. */
export function drawMarker(svg, position) {
  svg.querySelector('.chart-marker')?.remove();
  if (!position) return;
  svg.append(node('circle', { cx: position.x, cy: position.y, r: 3.5, class: 'chart-marker' }));
}
