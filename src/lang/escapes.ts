/**
 * @fileoverview C escape sequences in string and character constants, shared by the lexer and
 * the macro substitution of quoted arguments.
 */

/** Resolves C escapes (DTrace's stresc2chr) into char codes. */
export function decodeEscapes(body: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const ch = body.charCodeAt(i);
    if (ch !== 92 || i + 1 >= body.length) {
      if (ch > 0x7f) for (const b of Buffer.from(body[i]!, 'utf8')) out.push(b);
      else out.push(ch);
      continue;
    }
    const e = body[++i]!;
    switch (e) {
      case 'a': out.push(7); break;
      case 'b': out.push(8); break;
      case 'f': out.push(12); break;
      case 'n': out.push(10); break;
      case 'r': out.push(13); break;
      case 't': out.push(9); break;
      case 'v': out.push(11); break;
      case 'x': {
        // As many hex digits as follow, kept to a byte (none gives a NUL).
        let v = 0;
        while (i + 1 < body.length && /[0-9A-Fa-f]/.test(body[i + 1]!)) v = (v * 16 + parseInt(body[++i]!, 16)) & 0xff;
        out.push(v);
        break;
      }
      case '"': case '\\': out.push(e.charCodeAt(0)); break;
      default:
        if (e >= '0' && e <= '7') {
          let v = e.charCodeAt(0) - 48, k = 1;
          while (k < 3 && i + 1 < body.length && body[i + 1]! >= '0' && body[i + 1]! <= '7') { v = v * 8 + body.charCodeAt(++i) - 48; k++; }
          out.push(v & 0xff);
        } else {
          // Not an escape DTrace knows (`\'`, `\?`, `\c`): the backslash stays.
          out.push(92);
          out.push(e.charCodeAt(0) > 0x7f ? 63 : e.charCodeAt(0));
        }
    }
  }
  return out;
}
