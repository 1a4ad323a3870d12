/**
 * Where a statement of a SQL script ends, line by line, as psql's lexer decides it: at a `;`
 * outside quotes ('…', E'…', "…", $tag$…$tag$) and comments (-- and nested block comments). It is fed
 * the lines of a script in order and keeps its state across them (a function body spans
 * many lines, each perhaps ending with `;`).
 */
export class SqlScanner {
  private quote: "'" | '"' | 'e' | undefined;
  private dollar: string | undefined;
  private blockDepth = 0;

  /** Takes one more line; whether a statement ends at its end. */
  endsStatement(line: string): boolean {
    let last = '';
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (this.dollar !== undefined) {
        if (c === '$' && line.startsWith(this.dollar, i)) {
          i += this.dollar.length - 1;
          this.dollar = undefined;
          last = '$';
        }
        continue;
      }
      if (this.blockDepth > 0) {
        if (c === '*' && line[i + 1] === '/') {
          this.blockDepth--;
          i++;
        } else if (c === '/' && line[i + 1] === '*') {
          this.blockDepth++;
          i++;
        }
        continue;
      }
      if (this.quote === 'e' && c === '\\') {
        i++;
        continue;
      }
      if (this.quote !== undefined) {
        const closing = this.quote === 'e' ? "'" : this.quote;
        if (c === closing) {
          if (line[i + 1] === closing) i++;
          else {
            this.quote = undefined;
            last = c;
          }
        }
        continue;
      }
      if (c === '-' && line[i + 1] === '-') break;
      if (c === '/' && line[i + 1] === '*') {
        this.blockDepth++;
        i++;
        continue;
      }
      if (c === "'") {
        this.quote = /[eE]/.test(line[i - 1] ?? '') && !/[\w$]/.test(line[i - 2] ?? '') ? 'e' : "'";
        continue;
      }
      if (c === '"') {
        this.quote = '"';
        continue;
      }
      if (c === '$' && !/[\w$]/.test(line[i - 1] ?? '')) {
        const tag = /^\$(?:[A-Za-z_][\w]*)?\$/.exec(line.slice(i));
        if (tag) {
          this.dollar = tag[0];
          i += tag[0].length - 1;
          continue;
        }
      }
      if (!/\s/.test(c)) last = c;
    }
    return this.quote === undefined && this.dollar === undefined && this.blockDepth === 0 && last === ';';
  }
}
