/**
 * @fileoverview `node build/test/core/prepare.js`: compiles the CO-RE test objects against this
 * kernel's vmlinux.h (scripts/test-vm.sh runs it on the host before booting the 6.1 guest).
 */
import { cannotCompile, coreObject, CORE_OBJECTS, vmlinuxHeader } from './objects.js';

const why = cannotCompile();
if (why) {
  process.stderr.write(`core objects: not built: ${why}\n`);
} else {
  for (const [source, defines] of CORE_OBJECTS) coreObject(source, defines);
  process.stderr.write(`core objects: ${CORE_OBJECTS.length} built against Linux ${vmlinuxHeader().kernel}\n`);
}
