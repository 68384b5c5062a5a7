/**
 * A streaming CSV parser (RFC 4180). Pure: bytes in, records out, no I/O. Chunks may split the input
 * anywhere — inside a quoted field, between a quote and its escape, between \r and \n, inside a UTF-8
 * character — because all parser state lives between `push` calls rather than in a lookahead.
 *
 * Accepted: a record per line, separated by CRLF, LF or a lone CR; fields separated by commas; a field in
 * double quotes may hold commas, line breaks and `""` (one quote). A UTF-8 byte-order mark is dropped.
 * An empty line is not a record (a trailing newline at the end of the file is not an empty record).
 *
 * Malformed input never stops the parse: the record it occurs in carries an `error` and parsing goes on
 * with the next record, so bulk ingest can list every bad record of a file in one run.
 */

export interface CsvRecord {
  /** Field values, unquoted and unescaped. */
  readonly fields: string[];
  /** 1-based line the record starts on (a quoted field with line breaks spans several). */
  readonly line: number;
  /** Why the record is malformed, when it is; the fields are then a best effort. */
  readonly error?: string;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

// Parser states, between any two characters.
const FIELD_START = 0; // before the first character of a field
const UNQUOTED = 1; // inside a field that did not start with a quote
const QUOTED = 2; // inside quotes
const QUOTE_IN_QUOTED = 3; // a quote inside quotes: closes the field, or is the first half of `""`
type State = typeof FIELD_START | typeof UNQUOTED | typeof QUOTED | typeof QUOTE_IN_QUOTED;

export class CsvParser {
  // `stream: true` keeps a UTF-8 character split across chunks until its last byte arrives.
  readonly #decoder = new TextDecoder('utf-8');
  #state: State = FIELD_START;
  #field = '';
  #fields: string[] = [];
  #error: string | undefined;
  /** Line of the next character. */
  #line = 1;
  #recordLine = 1;
  /** Line of the quote that opened the current quoted field, for the unterminated-quote message. */
  #quoteLine = 1;
  /** Whether the previous character was \r, so the \n of a CRLF split across chunks is not a second line. */
  #afterCr = false;

  /** Parses one more chunk; returns the records it completed. Do not mix strings and bytes in one parse. */
  push(chunk: Uint8Array | string): CsvRecord[] {
    const out: CsvRecord[] = [];
    this.#scan(typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true }), out);
    return out;
  }

  /** Ends the input; returns the last record, if the input did not end with a line break. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    this.#scan(this.#decoder.decode(), out);
    if (this.#state === QUOTED) {
      this.#fail(`unterminated quoted field: the quote opened on line ${this.#quoteLine} is never closed`);
      this.#endRecord(out);
    } else if (this.#state !== FIELD_START || this.#fields.length > 0) {
      this.#endRecord(out);
    }
    return out;
  }

  #scan(text: string, out: CsvRecord[]): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      // Runs of plain characters inside a field are copied with one slice: appending them one by one
      // made parsing (and the garbage it leaves) the largest cost of a bulk ingest.
      if (this.#state === QUOTED) {
        let end = text.indexOf('"', i);
        if (end === -1) end = n;
        this.#field += text.slice(i, end);
        this.#countLines(text, i, end);
        i = end;
        if (i === n) break;
      } else if (this.#state === UNQUOTED) {
        let end = i;
        while (end < n) {
          const c = text.charCodeAt(end);
          if (c === COMMA || c === CR || c === LF || c === QUOTE) break;
          end++;
        }
        // No line breaks in the run, and the character before it was no \r: the line count stands.
        this.#field += text.slice(i, end);
        i = end;
        if (i === n) break;
      }
      this.#special(text, i, out);
      this.#countLines(text, i, i + 1);
      i++;
    }
  }

  /** One character that may change state: any character at a field's start, else a comma, quote or line break. */
  #special(text: string, i: number, out: CsvRecord[]): void {
    const c = text.charCodeAt(i);
    switch (this.#state) {
      case FIELD_START:
        if (c === CR || c === LF) {
          // A line break right after a comma ends a record whose last field is empty; at the start of
          // a record it is an empty line (or the \n of a CRLF), which is no record.
          if (this.#fields.length > 0) this.#endRecord(out);
        } else {
          if (this.#fields.length === 0) this.#recordLine = this.#line;
          if (c === COMMA) this.#fields.push('');
          else if (c === QUOTE) {
            this.#quoteLine = this.#line;
            this.#state = QUOTED;
          } else {
            this.#field = text[i]!;
            this.#state = UNQUOTED;
          }
        }
        break;
      case UNQUOTED:
        if (c === COMMA) this.#endField();
        else if (c === CR || c === LF) this.#endRecord(out);
        else {
          this.#fail(`a quote inside an unquoted field (quote the whole field and double the quote: "a""b")`);
          this.#field += text[i];
        }
        break;
      case QUOTED:
        this.#state = QUOTE_IN_QUOTED;
        break;
      case QUOTE_IN_QUOTED:
        if (c === QUOTE) {
          this.#field += '"';
          this.#state = QUOTED;
        } else if (c === COMMA) this.#endField();
        else if (c === CR || c === LF) this.#endRecord(out);
        else {
          // `"ab"c`: keep the text so the record is recognisable, but it is malformed.
          this.#fail(`unexpected ${JSON.stringify(text[i])} after the closing quote of a field (a field is either wholly quoted or not at all)`);
          this.#field += text[i];
          this.#state = UNQUOTED;
        }
        break;
    }
  }

  /** Advances the line count over text[from, to): CRLF, LF and a lone CR each end one line. */
  #countLines(text: string, from: number, to: number): void {
    for (let k = from; k < to; k++) {
      const c = text.charCodeAt(k);
      if (c === LF) {
        if (!this.#afterCr) this.#line++;
      } else if (c === CR) this.#line++;
      this.#afterCr = c === CR;
    }
  }

  #fail(reason: string): void {
    this.#error ??= reason;
  }

  #endField(): void {
    this.#fields.push(this.#field);
    this.#field = '';
    this.#state = FIELD_START;
  }

  #endRecord(out: CsvRecord[]): void {
    this.#endField();
    out.push(this.#error === undefined ? { fields: this.#fields, line: this.#recordLine } : { fields: this.#fields, line: this.#recordLine, error: this.#error });
    this.#fields = [];
    this.#error = undefined;
  }
}

/** Parses a whole CSV text at once (tests, small inputs). */
export function parseCsv(text: string | Uint8Array): CsvRecord[] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()];
}
