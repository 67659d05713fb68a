// The rolling cards' order: by frame number, newest first, whenever each frame's event came in.

const SEQ = 2 ** 32;  // a frame id is (the transmitter session's number << 32) | its sequence number

/**
 * Where each frame belongs on the board. Events do not come in frame order: a frame lost whole is reported when
 * a later frame shows the gap (after newer frames arrived), the frames read back on (re)connecting come after
 * the stream's first events, and a comparison twin travels on a stream of its own. So cards are placed by
 * [stream, sequence number] of the learned frame they show: streams of the page's own codec in the order the page
 * first heard of them (a restarted transmitter opens a new one and counts again from the start), then the number.
 * A frame of a stream not known to be the page's own (a comparison twin before its record names its pair, a loss
 * report before any frame of its stream arrived) sits just below the frame that arrived before it.
 */
export class FrameOrder {
  constructor() { this.streams = new Map(); }  // the stream number of the page's own codec -> when first heard of

  /** `id` is a frame of the page's own codec: a frame received in it, an upload, a comparison pair's id. */
  ownFrame(id) {
    const stream = Math.floor(id / SEQ);
    if (!this.streams.has(stream)) this.streams.set(stream, this.streams.size);
  }

  /** [stream, sequence number, Infinity] of a frame (its pair's, for a comparison twin), or null if unknown. */
  place(frame) {
    const id = frame.pair_id ?? frame.id;
    const stream = this.streams.get(Math.floor(id / SEQ));
    return stream === undefined ? null : [stream, id % SEQ, Infinity];
  }

  /**
   * The newest `n` cards of `frames` (records in arrival order, oldest first, each with its card's `key`), newest
   * first: [[key, its frames in arrival order], ...].
   */
  newestCards(frames, n) {
    const cards = new Map();  // key -> {place, frames}
    let before = [-1, 0, Infinity];  // the place of the last frame placed by its number
    frames.forEach((frame, arrival) => {
      let place = this.place(frame);
      if (place) before = place; else place = [before[0], before[1], arrival];  // just below it, newer higher
      const card = cards.get(frame.key);
      if (!card) cards.set(frame.key, { place, frames: [frame] });
      else {
        card.frames.push(frame);
        if (later(place, card.place)) card.place = place;
      }
    });
    return [...cards].sort(([, a], [, b]) => (later(a.place, b.place) ? -1 : later(b.place, a.place) ? 1 : 0))
      .slice(0, n).map(([key, card]) => [key, card.frames]);
  }
}

function later(a, b) {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i] > b[i];
  return false;
}
