import { z } from 'zod';
import { HubError } from './errors.ts';

type Issue = z.core.$ZodIssue;

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function branchExpects(branch: Issue[]): string {
  const first = branch[0];
  return first?.code === 'invalid_type' ? first.expected : (first?.message ?? 'another shape');
}

/** The fields the object schema at `path` accepts, or undefined when `path` does not lead to one. */
function fieldsAt(schema: z.ZodType | undefined, path: readonly PropertyKey[]): string[] | undefined {
  let current = objectIn(schema);
  for (const key of path) {
    if (!current || typeof key !== 'string') return undefined;
    current = objectIn((current.shape as Record<string, unknown>)[key]);
  }
  return current ? Object.keys(current.shape) : undefined;
}

/** The object schema inside optional and default wrappers, if that is what `schema` is. */
function objectIn(schema: unknown): z.ZodObject | undefined {
  let inner = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap();
  return inner instanceof z.ZodObject ? inner : undefined;
}

/** What the issue expected, in words, for the issues zod's own message leaves vague. */
function explain(issue: Issue, input: unknown, schema: z.ZodType | undefined): string {
  const value = valueAt(input, issue.path);
  if (issue.code === 'unrecognized_keys') {
    // A typo is the usual cause: naming what is accepted shows the right spelling.
    const unknown = issue.keys.map((key) => `"${key.slice(0, 32)}"`).join(', ');
    const fields = fieldsAt(schema, issue.path);
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${unknown}${fields ? `; expected only ${fields.join(', ')}` : ''}`;
  }
  if (issue.code === 'invalid_union') {
    // A schema's own message says it best; otherwise list what each branch expected.
    const wanted = issue.message !== 'Invalid input' ? issue.message : `expected ${[...new Set(issue.errors.map(branchExpects))].join(' or ')}`;
    return value === undefined ? `required, ${wanted}` : `${wanted}, received ${describe(value)}`;
  }
  if (issue.code === 'invalid_type' && value === undefined && issue.path.length > 0) return `required, expected ${issue.expected}`;
  return issue.message;
}

/**
 * The one mapping from a failed zod parse to a HubError: a bound that was
 * crossed is `out_of_range`, anything else about a field is `invalid_field`.
 * The message names the field and what it expected; with the `schema`
 * that failed, an unknown field's error lists the fields it accepts.
 */
export function hubErrorFromZod(error: z.ZodError, input: unknown, rootName = 'frame', schema?: z.ZodType): HubError {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join('.') || rootName;
  const range = issue.code === 'too_big' || issue.code === 'too_small';
  return new HubError(range ? 'out_of_range' : 'invalid_field', `${field}: ${explain(issue, input, schema)}`);
}
