// web/graph.js — draws a workflow document on the demo's shared canvas, under the cursors:
// nodes as boxes (run status colour, the lock holder's colour as a ring and name) and edges as
// curves. The document's own coordinates are fitted into the canvas's logical 1000 × 600 space,
// so everyone's cursor lands on the same node. Read-only: editing is the workflow panel's job.
import { el, textColorOn } from './room-view.js';

// The size of a node box in document units (tandem-agent lays nodes out 260 apart).
const NODE = { width: 180, height: 56 };
const PADDING = 40;  // logical units kept free around the graph

// Maps document coordinates into the canvas's logical space: the bounding box of the nodes,
// scaled down (never up) to fit and centred.
function fitTransform(nodes, canvas) {
  if (nodes.length === 0) return { scale: 1, dx: 0, dy: 0 };
  const xs = nodes.map((n) => n.x ?? 0);
  const ys = nodes.map((n) => n.y ?? 0);
  const [minX, minY] = [Math.min(...xs), Math.min(...ys)];
  const width = Math.max(...xs) - minX + NODE.width;
  const height = Math.max(...ys) - minY + NODE.height;
  const scale = Math.min(1, (canvas.width - 2 * PADDING) / width, (canvas.height - 2 * PADDING) / height);
  return {
    scale,
    dx: (canvas.width - width * scale) / 2 - minX * scale,
    dy: (canvas.height - height * scale) / 2 - minY * scale,
  };
}

const percent = (value, of) => `${(value / of) * 100}%`;

// Replaces the contents of `layer` (an absolutely positioned box over the canvas) with the
// graph. locks: {resource: {user, name, color}} as TandemRoom.locks; me: {id}.
export function renderGraph(layer, { nodes, edges, locks, me, canvas }) {
  const t = fitTransform(nodes, canvas);
  const place = (node) => ({ x: (node.x ?? 0) * t.scale + t.dx, y: (node.y ?? 0) * t.scale + t.dy });
  const byId = new Map(nodes.map((node) => [node.id, node]));

  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'graph-edges');
  svg.setAttribute('viewBox', `0 0 ${canvas.width} ${canvas.height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  for (const edge of edges) {
    const [from, to] = [byId.get(edge.from), byId.get(edge.to)];
    if (!from || !to) continue;
    const a = place(from);
    const b = place(to);
    const start = { x: a.x + NODE.width * t.scale, y: a.y + (NODE.height * t.scale) / 2 };
    const end = { x: b.x, y: b.y + (NODE.height * t.scale) / 2 };
    const bend = Math.max(30, Math.abs(end.x - start.x) / 2);
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', `M${start.x},${start.y} C${start.x + bend},${start.y} ${end.x - bend},${end.y} ${end.x},${end.y}`);
    path.dataset.edge = edge.id;
    svg.append(path);
  }

  const boxes = nodes.map((node) => {
    const at = place(node);
    const lock = locks[node.id];
    const style = [
      `left:${percent(at.x, canvas.width)}`, `top:${percent(at.y, canvas.height)}`,
      `width:${percent(NODE.width * t.scale, canvas.width)}`, `height:${percent(NODE.height * t.scale, canvas.height)}`,
      lock ? `--holder:${lock.color};--on-holder:${textColorOn(lock.color)}` : '',
    ].join(';');
    const holder = lock && (lock.user === me.id ? 'you' : lock.name || lock.user);
    return el('div', {
      class: 'graph-node', 'data-testid': 'graph-node', 'data-node': node.id, 'data-status': node.status ?? 'idle',
      'data-locked': lock ? 'true' : undefined, style,
    },
    el('strong', {}, node.label || node.id),
    el('span', { class: 'graph-node-type' }, node.type ?? ''),
    holder && el('span', { class: 'graph-node-holder' }, holder));
  });
  layer.replaceChildren(svg, ...boxes);
}
