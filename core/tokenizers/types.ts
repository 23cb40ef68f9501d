/**
 * Common tokenizer interface shared by the char and BPE tokenizers.
 *
 * Ids are dense integers in [0, vocabSize). `encode` followed by `decode`
 * must reproduce the input string exactly for any well-formed Unicode string.
 */
export interface Tokenizer {
  readonly kind: 'char' | 'bpe';
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  /** human-readable piece for one id, for debugging */
  piece(id: number): string;
}
