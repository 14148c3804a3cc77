/**
 * Reads an embeddings response without keeping the vectors. A batch of embeddings can
 * run to tens of megabytes of numbers that history does not want; this walks the JSON
 * bytes once, counts the vectors and the width of the first, and keeps only a small
 * "skeleton" of the document (everything outside arrays, arrays left as `[]`) so that
 * the counters and any error message can still be parsed from it at the end.
 *
 * It understands the shapes Ollama and OpenAI-compatible servers send:
 *   /api/embed      {"embeddings": [[n, ...], ...], "prompt_eval_count": n, ...}
 *   /api/embeddings {"embedding": [n, ...]}
 *   /v1/embeddings  {"data": [{"embedding": [n, ...] | "<base64 float32>"}, ...], "usage": {...}}
 * A vector is an array holding only numbers, or a base64 string under an `embedding` key.
 * Structural characters are ASCII, so the bytes are scanned without decoding; strings are
 * skipped byte by byte (a multi-byte character never contains a quote or backslash).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COLON = 0x3a;
const COMMA = 0x2c;
const EQUALS = 0x3d;

/** Bytes that can start a JSON number, and bytes that can continue one. */
const NUMBER_START = new Uint8Array(256);
const NUMBER_PART = new Uint8Array(256);
for (const c of '-0123456789') NUMBER_START[c.charCodeAt(0)] = 1;
for (const c of '-+.eE0123456789') NUMBER_PART[c.charCodeAt(0)] = 1;
const WHITESPACE = new Uint8Array(256);
for (const c of ' \t\r\n') WHITESPACE[c.charCodeAt(0)] = 1;

/** The skeleton holds counters and error text; more than this is not an embeddings response. */
const MAX_SKELETON = 64 * 1024;
const EMBEDDING_KEY = 'embedding';

enum StringRole {
  Other = 0,
  Key = 1,
  Base64 = 2,
}

export class EmbedScanner {
  /** Vectors seen so far. */
  count = 0;
  /** Width of the first vector. */
  dimensions: number | null = null;
  bytes = 0;

  // Container stack, as parallel arrays (depth rarely exceeds 4).
  private readonly isArray: boolean[] = [];
  /** Numbers directly inside each open array. */
  private readonly numbers: number[] = [];
  /** Whether an open array holds anything but numbers. */
  private readonly mixed: boolean[] = [];
  /** Whether an open object expects a key next. */
  private readonly expectKey: boolean[] = [];
  /** The last key read in each open object (only short ones are kept). */
  private readonly lastKey: string[] = [];
  /** How many arrays are open: output is written only at zero. */
  private arrayDepth = 0;

  private inString = false;
  private escaped = false;
  private stringRole: StringRole = StringRole.Other;
  private key = '';
  private base64Length = 0;
  private base64Padding = 0;
  private inNumber = false;

  private skeleton = new Uint8Array(1024);
  private skeletonLength = 0;
  private skeletonCut = false;

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    const length = chunk.length;
    for (let i = 0; i < length; i++) {
      const b = chunk[i] as number;
      if (this.inString) {
        this.stringByte(b);
        continue;
      }
      if (this.inNumber) {
        if (NUMBER_PART[b] === 1) {
          if (this.arrayDepth === 0) this.write(b);
          continue;
        }
        this.inNumber = false;
      }
      if (WHITESPACE[b] === 1) {
        // Kept outside arrays so that a plain-text error body reads as it was sent.
        if (this.arrayDepth === 0) this.write(b);
        continue;
      }
      this.structuralByte(b);
    }
  }

  /** The document outside its arrays, as text; null when it was cut or empty. */
  skeletonText(): string | null {
    if (this.skeletonCut || this.skeletonLength === 0) return null;
    return Buffer.from(this.skeleton.buffer, this.skeleton.byteOffset, this.skeletonLength).toString('utf8');
  }

  private stringByte(b: number): void {
    if (this.escaped) {
      this.escaped = false;
    } else if (b === BACKSLASH) {
      this.escaped = true;
    } else if (b === QUOTE) {
      this.inString = false;
      this.endString();
    } else if (this.stringRole === StringRole.Base64) {
      this.base64Length++;
      if (b === EQUALS) this.base64Padding++;
    } else if (this.stringRole === StringRole.Key && this.key.length <= EMBEDDING_KEY.length) {
      this.key += String.fromCharCode(b);
    }
    if (this.arrayDepth === 0) this.write(b);
  }

  private structuralByte(b: number): void {
    const top = this.isArray.length - 1;
    const inArray = top >= 0 && this.isArray[top] === true;
    if (NUMBER_START[b] === 1) {
      this.inNumber = true;
      if (inArray) this.numbers[top] = (this.numbers[top] as number) + 1;
      if (this.arrayDepth === 0) this.write(b);
      return;
    }
    switch (b) {
      case QUOTE:
        this.startString(top, inArray);
        break;
      case OPEN_ARRAY:
      case OPEN_OBJECT:
        if (inArray) this.mixed[top] = true;
        if (this.arrayDepth === 0) this.write(b);
        this.isArray.push(b === OPEN_ARRAY);
        this.numbers.push(0);
        this.mixed.push(false);
        this.expectKey.push(b === OPEN_OBJECT);
        this.lastKey.push('');
        if (b === OPEN_ARRAY) this.arrayDepth++;
        break;
      case CLOSE_ARRAY:
      case CLOSE_OBJECT:
        if (top < 0) break; // unbalanced: not JSON; ignore rather than throw
        if (this.isArray[top] === true) {
          if (this.mixed[top] === false && (this.numbers[top] as number) > 0)
            this.vector(this.numbers[top] as number);
          this.arrayDepth--;
        }
        this.isArray.pop();
        this.numbers.pop();
        this.mixed.pop();
        this.expectKey.pop();
        this.lastKey.pop();
        if (this.arrayDepth === 0) this.write(b);
        break;
      case COLON:
        if (top >= 0 && !inArray) this.expectKey[top] = false;
        if (this.arrayDepth === 0) this.write(b);
        break;
      case COMMA:
        if (top >= 0 && !inArray) this.expectKey[top] = true;
        if (this.arrayDepth === 0) this.write(b);
        break;
      default:
        // true / false / null, one letter at a time
        if (inArray) this.mixed[top] = true;
        if (this.arrayDepth === 0) this.write(b);
    }
  }

  private startString(top: number, inArray: boolean): void {
    this.inString = true;
    this.escaped = false;
    if (inArray) {
      this.mixed[top] = true;
      this.stringRole = StringRole.Other;
    } else if (top >= 0 && this.expectKey[top] === true) {
      this.stringRole = StringRole.Key;
      this.key = '';
    } else if (top >= 0 && this.lastKey[top] === EMBEDDING_KEY) {
      this.stringRole = StringRole.Base64;
      this.base64Length = 0;
      this.base64Padding = 0;
    } else {
      this.stringRole = StringRole.Other;
    }
    if (this.arrayDepth === 0) this.write(QUOTE);
  }

  private endString(): void {
    const top = this.isArray.length - 1;
    if (this.stringRole === StringRole.Key) {
      if (top >= 0) this.lastKey[top] = this.key;
    } else if (this.stringRole === StringRole.Base64) {
      // base64 of little-endian float32s: 4 characters carry 3 bytes, 4 bytes make a float.
      const decodedBytes = Math.floor((this.base64Length * 3) / 4) - this.base64Padding;
      this.vector(Math.floor(decodedBytes / 4));
    }
    this.stringRole = StringRole.Other;
  }

  private vector(width: number): void {
    this.count++;
    if (this.dimensions === null) this.dimensions = width;
  }

  private write(b: number): void {
    if (this.skeletonCut) return;
    if (this.skeletonLength === this.skeleton.length) {
      if (this.skeletonLength >= MAX_SKELETON) {
        this.skeletonCut = true;
        return;
      }
      const grown = new Uint8Array(this.skeleton.length * 2);
      grown.set(this.skeleton);
      this.skeleton = grown;
    }
    this.skeleton[this.skeletonLength++] = b;
  }
}
