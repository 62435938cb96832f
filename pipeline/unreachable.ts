/** Marks a switch as exhaustive: adding a union member without handling it fails to compile. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
