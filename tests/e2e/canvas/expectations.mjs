// tests/e2e/canvas/expectations.mjs — what a correctly drawn canvas frame looks like, shared by
// the desktop and browser tests: not blank, the status light in the colour of the state, and
// (once connected) the user's colour swatch from the token.
import assert from 'node:assert/strict';

import { colourStats, countPixelsNear, hexToRgb } from './png.mjs';

// The status light colours of wasm-client/canvas/connection_panel.cpp, as 8-bit RGB.
export const statusLight = {
  open: [77, 217, 102],     // green
  connecting: [242, 179, 51],  // amber
  reconnecting: [242, 179, 51],
  closed: [242, 89, 77],    // red
};

// A light is a filled circle about 10 px across: its inside is well over 20 pixels.
const MIN_LIGHT_PIXELS = 20;
// The user swatch is a square one text line high (about 19 x 19 px).
const MIN_SWATCH_PIXELS = 150;
// A drawn frame has about 25 colours (background, window chrome, the pixel font's text, the
// light's anti-aliased edge) and its background covers under 90 % of it (the window is the
// rest); a blank frame (no GL output, a wrong buffer read back) has one or two colours and a
// background covering all of it.
const MIN_DISTINCT_COLOURS = 10;
const MAX_BACKGROUND_SHARE = 0.95;
// Rounding differs between GL implementations (llvmpipe, SwiftShader) by a unit or two.
const TOLERANCE = 3;

export function assertDrawn(image, { state, userColour }, where) {
  const { distinct, dominantShare } = colourStats(image);
  assert.ok(distinct >= MIN_DISTINCT_COLOURS,
            `${where}: only ${distinct} distinct colours — the frame looks blank`);
  assert.ok(dominantShare <= MAX_BACKGROUND_SHARE,
            `${where}: one colour covers ${(dominantShare * 100).toFixed(1)} % — nearly uniform`);
  const light = countPixelsNear(image, statusLight[state], TOLERANCE);
  assert.ok(light >= MIN_LIGHT_PIXELS,
            `${where}: ${light} pixels of the "${state}" status light colour ${statusLight[state]}`);
  if (userColour) {
    const swatch = countPixelsNear(image, hexToRgb(userColour), TOLERANCE);
    assert.ok(swatch >= MIN_SWATCH_PIXELS,
              `${where}: ${swatch} pixels of the user colour ${userColour} (swatch not drawn?)`);
  }
}
