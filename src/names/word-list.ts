/** A frozen list of the words in `text`, which holds them separated by whitespace (any layout). */
export function wordList(text: string): readonly string[] {
  return Object.freeze(text.split(/\s+/).filter((word) => word !== ''));
}
