// tests/e2e/canvas/imgui_input.mjs — mouse and keyboard input to the browser canvas (Dear ImGui
// in web/canvas.html) that the app cannot miss, aimed where the canvas itself says things are.
//
// Dear ImGui 1.86 samples the mouse buttons and keys once per frame: a press and release inside
// one frame (page.mouse.click, page.keyboard.press) can go unseen, which happens on a busy
// machine. So every step waits until the canvas has drawn more frames — its state dump's
// `frame` counter — before the next one: conditions, not sleeps, so a slow machine only makes
// the test slower. Places come from the same dump: `widgets` (wasm-client/canvas/
// widget_places.h) for windows and widgets, `view` for the graph's pan, zoom and node layout.
//
//   const input = imguiInput(page, readState, waitFor);
//   await input.click(await input.widgetCentre('agent.pause'));
//   await input.pressKey('Enter');

// Where graph point (x, y) is on the page, through the dump's view (state_dump.h).
export function graphToScreen(state, { x, y }) {
  const { view } = state;
  return { x: view.x + x * view.zoom, y: view.y + y * view.zoom };
}

// Points of node `id` in graph units, from its position in the dump and the canvas's layout.
export function nodePoints(state, id) {
  const node = state.nodes.find((n) => n.id === id);
  if (!node) throw new Error(`node ${id} is not in the canvas state`);
  const { width, height, header } = state.view.node;
  return {
    title: { x: node.x + width / 2, y: node.y + header / 2 },
    body: { x: node.x + width / 2, y: node.y + header + (height - header) / 2 },
    input: { x: node.x, y: node.y + height / 2 },
    output: { x: node.x + width, y: node.y + height / 2 },
  };
}

// `page`: the playwright page with the canvas; `readState()`: resolves the canvas's state dump;
// `waitFor(what, check)`: polls `check` until truthy, failing at a deadline naming `what`.
export function imguiInput(page, readState, waitFor) {
  // Resolves once the canvas has drawn `count` more frames than when called.
  const frames = async (count) => {
    const from = (await readState())?.frame ?? 0;
    await waitFor(`${count} more frames drawn by the canvas`, async () => (await readState())?.frame >= from + count);
  };
  // The page position of the canvas element's top left (ImGui's display origin).
  const canvasOrigin = () => page.evaluate(() => {
    const box = document.querySelector('canvas').getBoundingClientRect();
    return { x: box.left, y: box.top };
  });
  return {
    frames,
    // The centre of a widget or window (widget_places.h's names) once the canvas has drawn it.
    async widgetCentre(name) {
      const place = await waitFor(`the canvas to draw ${name}`, async () => (await readState())?.widgets?.[name]);
      const origin = await canvasOrigin();
      return { x: origin.x + place.x + place.width / 2, y: origin.y + place.y + place.height / 2 };
    },
    // A graph point (graph units) on the page, through the canvas's current pan and zoom.
    async graphPoint(point) {
      const state = await waitFor('the canvas view', async () => { const s = await readState(); return s?.view ? s : null; });
      const origin = await canvasOrigin();
      const screen = graphToScreen(state, point);
      return { x: origin.x + screen.x, y: origin.y + screen.y };
    },
    async pressKey(key) {
      await page.keyboard.down(key);
      await frames(2);
      await page.keyboard.up(key);
      await frames(1);
    },
    async click(at) {
      await page.mouse.move(at.x, at.y);
      await frames(2);
      await page.mouse.down();
      await frames(2);
      await page.mouse.up();
      await frames(2);
    },
    async drag(from, to) {
      await page.mouse.move(from.x, from.y);
      await frames(2);
      await page.mouse.down();
      await frames(2);
      await page.mouse.move(to.x, to.y, { steps: 8 });
      await frames(2);
      await page.mouse.up();
      await frames(2);
    },
    // Typed characters are queued by ImGui, so a whole string goes in one step.
    async type(text) {
      await page.keyboard.type(text);
      await frames(2);
    },
  };
}
