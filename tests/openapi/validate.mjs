// node validate.mjs FILE: validates FILE against the OpenAPI 3.0/3.1 schema (and resolves its
// $refs); prints what is wrong and exits 1 when it is not a valid OpenAPI document.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs FILE");
  process.exit(2);
}
const validator = new Validator();
const result = await validator.validate(JSON.parse(readFileSync(file, "utf8")));
if (!result.valid) {
  console.error(`${file}: not a valid OpenAPI ${validator.version} document`);
  console.error(JSON.stringify(result.errors, null, 2));
  process.exit(1);
}
console.log(`${file}: valid OpenAPI ${validator.version}`);
