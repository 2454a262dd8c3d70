/**
 * JSON values ⇄ google.protobuf.Struct / ListValue / Value as @grpc/proto-loader represents them
 * (keepCase, oneofs: the `kind` field names the set member). protobufjs converts no Struct on its
 * own, so every Struct field on the wire goes through here.
 */
import type { Struct } from './generated/google/protobuf/Struct.js';
import type { ListValue } from './generated/google/protobuf/ListValue.js';
import type { Value } from './generated/google/protobuf/Value.js';

/** What a reader accepts: the generated __Output types, or anything shaped like them. */
export interface ProtoValue {
  kind?: string | null;
  numberValue?: number | string | null;
  stringValue?: string | null;
  boolValue?: boolean | null;
  structValue?: ProtoStruct | null;
  listValue?: ProtoListValue | null;
}
export interface ProtoStruct {
  fields?: Record<string, ProtoValue> | null;
}
export interface ProtoListValue {
  values?: ProtoValue[] | null;
}

export function toValue(value: unknown): Value {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') {
    // Struct numbers are doubles; JSON has no NaN/Infinity, so neither does the wire (null instead).
    return Number.isFinite(value) ? { numberValue: value } : { nullValue: 'NULL_VALUE' };
  }
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'bigint') return { numberValue: Number(value) };
  if (Array.isArray(value)) return { listValue: toListValue(value) };
  if (value instanceof Date) return { stringValue: value.toISOString() };
  if (typeof value === 'object') return { structValue: toStruct(value as Record<string, unknown>) };
  return { nullValue: 'NULL_VALUE' };
}

export function toStruct(object: Record<string, unknown> | undefined | null): Struct | null {
  if (object === undefined || object === null) return null;
  // Object.fromEntries makes own properties for every key: assigning `fields[key]` would set the
  // prototype for a key "__proto__" (a value lost, and an object with a foreign prototype).
  const fields: Record<string, Value> = Object.fromEntries(
    Object.entries(object)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, toValue(value)]),
  );
  return { fields };
}

export function toListValue(list: readonly unknown[] | undefined | null): ListValue | null {
  if (list === undefined || list === null) return null;
  return { values: list.map(toValue) };
}

export function fromValue(value: ProtoValue | null | undefined): unknown {
  if (!value) return null;
  const kind =
    value.kind ??
    (['numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue'] as const).find(
      (k) => value[k] !== undefined && value[k] !== null,
    );
  switch (kind) {
    case 'numberValue':
      return Number(value.numberValue);
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return fromStruct(value.structValue);
    case 'listValue':
      return fromListValue(value.listValue);
    default:
      return null;
  }
}

export function fromStruct(struct: ProtoStruct | null | undefined): Record<string, unknown> {
  // Own properties for every key, "__proto__" included (see toStruct).
  return Object.fromEntries(Object.entries(struct?.fields ?? {}).map(([key, value]) => [key, fromValue(value)]));
}

export function fromListValue(list: ProtoListValue | null | undefined): unknown[] {
  return (list?.values ?? []).map(fromValue);
}
