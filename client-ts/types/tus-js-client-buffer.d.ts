// tus-js-client's type declarations name Node's `Buffer` (a file may be one in Node). The
// client is checked without Node's types (`"types": []`), so this names it for the checker
// alone; it merges with @types/node's `Buffer` where those are present.
interface Buffer extends Uint8Array {}
