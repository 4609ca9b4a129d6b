// Package synth generates traffic-sign images in several country styles, so
// graft has data that needs no download: the default data set of
// `graft demo`, fast fixtures for tests, and a laboratory for transfer
// learning where both the size of the target set and its distance from the
// source can be dialled.
//
// # Classes and countries
//
// Every built-in country (see Countries) draws the same 40 shared classes
// with the same IDs: eight speed limits, stop, give way, no entry, no
// overtaking, priority road and its end, twelve warning triangles, six blue
// mandatory discs, no vehicles, no stopping, no parking, no u-turn, end of
// restrictions, one-way, dead end, pedestrian crossing and parking. Most
// countries add one class of their own after those (ID 40), which other
// countries lack; ClassMap pairs classes across countries by meaning.
//
// The base country "be" has a plain style; "at", "de", "it", "es" and "se"
// differ from it the way real signs differ: paint colours, border widths,
// white or yellow fills, triangle proportions and corner rounding, one of
// three stroke fonts for digits, pedestrian and car silhouettes, arrowheads,
// the number of end-of-restriction stripes and the shape of the one-way
// sign. Country.Note says what each one changes.
//
// # Knobs
//
// Shift in [0,1] moves a country's signs from the base style (0, identical
// pixels to the base country) to its own (1). Continuous parameters are
// interpolated; discrete ones (font, pictogram variant, stripe count,
// one-way shape) cannot be, so each sample takes them all from the country
// with probability Shift, decided by its seed.
//
// Difficulty in [0,1] scales the nuisances: at 0 a clean sign fills the
// frame on a plain background; towards 1 come perspective and rotation,
// scale and placement, sky, foliage, wall and asphalt backgrounds with
// clutter and a pole, partial occlusion, faded paint, exposure and colour
// cast, gradients and cast shadows, motion and defocus blur, sensor noise
// and JPEG-style block quantisation. Every random choice is drawn whatever
// the difficulty and only scaled by it, so one seed at a higher difficulty
// shows the same scene, harder.
//
// # Street scenes
//
// Scenes (NewScenes, WriteScenes, SceneSheet) is a detection data set:
// procedural streets — sky with clouds, buildings with windows, pavement
// and a road in perspective with its markings, trees, parked cars, lamp
// posts, boards with round logos (look-alikes a detector must learn to
// ignore) and bins — with 1 to MaxSigns signs on poles each, 12 to 120 px
// across (log-uniform, so far signs are common), placed beside the road
// and never covering a tenth of another. Difficulty turns and tilts the
// signs, fades their paint, puts leaves, posts and boards in front of
// them, blurs them (defocus and motion, drawn per sign) and adds clutter,
// exposure changes and sensor noise. A box is the projected outline of
// the whole sign face, pole excluded and occluded parts included, so boxes
// come from the layout without drawing. Signs are drawn at 2x on a patch
// of the scene and blended back, so 12 px pictograms stay legible.
// WriteScenes writes PNGs and COCO JSON that data.OpenCOCO reads back
// exactly; image i is drawn from (Seed, i) alone, so the same
// configuration gives the same bytes (pinned by TestGoldenScenes) and a
// 320x240 scene costs a few milliseconds.
//
// # Determinism and speed
//
// Sample j of a class is rendered from a PCG stream seeded by (Seed, class
// name, j) and nothing else: no global random source, clock or map order.
// The same configuration gives the same bytes, a class's samples do not
// change when other classes are selected, and countries share scenes so
// that two sets with one seed differ only in sign style. A Set stores no
// pixels and renders in Image, so it is safe for concurrent use; signs are
// vector outlines projected through the camera pose and rasterised with
// golang.org/x/image/vector on a 2x canvas; a 32 px image costs about
// 0.05 ms of one core clean and 0.2 ms at full difficulty (see
// BenchmarkRender). Bytes are pinned by a golden test on amd64; other
// architectures may round differently (fused multiply-adds), so compare
// data sets across machines by seed, not by checksum.
package synth
