// Parse-speed micro benchmark: generates a large D script (many clauses with typical
// statements) and reports how many megabytes per second the front end parses.
// Run: node scripts/build.mjs && node bench/parse-speed.mjs
import { parse } from '../build/src/lang/parser.js';
import { DiagnosticSink } from '../build/src/diag/diagnostic.js';
import { makeSource } from '../build/src/diag/source.js';

const clause = (i) => `syscall::read*:entry, tick-${i}ms
/pid == 1234 && self->ts${i} == 0 && execname != "dtrace"/
{
	self->ts${i} = timestamp;
	@calls[probefunc, execname] = count();
	@lat["read", ${i}] = quantize((timestamp - self->ts${i}) / 1000);
	this->p = (struct foo *)arg0;
	x${i} = this->p->bar[3] + sizeof (uint64_t) * 0x${i.toString(16)} - 'ab' << 2;
	printf("%s %d %d\\n", stringof(arg1), ${i}, cpu);
}
`;
let text = '#pragma D option quiet\nstruct foo { int bar[4]; char *name; };\n';
for (let i = 0; text.length < 8 << 20; i++) text += clause(i);
const mb = text.length / (1 << 20);

function once() {
  const sink = new DiagnosticSink();
  const t0 = process.hrtime.bigint();
  parse(makeSource('bench.d', text), sink);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink.hasErrors) throw new Error(sink.items[0].message);
  return secs;
}
once(); // warm up
const runs = [once(), once(), once()];
const best = Math.min(...runs);
console.log(`parse-speed: ${mb.toFixed(1)} MB in ${(best * 1000).toFixed(0)} ms = ${(mb / best).toFixed(1)} MB/s`);
