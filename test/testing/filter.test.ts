import { describe, expect, it } from 'vitest';
import { compileFilter, FilterError } from '../../src/testing/model/filter.js';

const entry = {
  Node: { Node: 'n1', Meta: { rack: 'r1' } },
  Service: {
    ID: 'web-1',
    Port: 8080,
    Tags: ['primary', 'v2'],
    Meta: { version: '2', blank: '', quote: 'say "hi"', path: 'a\\b' },
    EnableTagOverride: false,
    TaggedAddresses: {},
    Proxy: null,
  },
  Checks: [{ Status: 'passing' }, { Status: 'warning' }],
  Upstreams: [],
};
const matches = (expression: string) => compileFilter(expression)(entry);

describe("the test server's filter expressions", () => {
  it.each([
    ['Service.Meta.version == "2"', true],
    ['Service.Meta.version != "2"', false],
    ['Service.Meta["version"] == `2`', true],
    ['Service.Port == 8080', true],
    ['"primary" in Service.Tags', true],
    ['"canary" not in Service.Tags', true],
    ['Service.Tags contains v2', true],
    ['Service.Tags not contains v2', false],
    ['Service.Meta.missing is empty', true],
    ['Service.Tags is not empty', true],
    ['Service.ID matches "^web-[0-9]+$"', true],
    ['Service.ID not matches "^web"', false],
    ['Checks.Status == warning', true],
    ['Node.Meta.rack == r1 and not (Service.Port == 80 or Service.Tags is empty)', true],
    ['Service.Meta.version == "1" or Node.Node == n2', false],
    // and, or, not and parentheses, and what binds tighter
    ['Service.Meta.version == "2" and Service.Port == 80', false],
    ['Service.Port == 80 and Service.Meta.version == "2"', false],
    ['Service.Port == 80 or Service.Port == 8080 and Service.ID == web-2', false],
    ['(Service.Port == 80 or Service.Port == 8080) and Service.ID == web-1', true],
    ['not Service.Port == 80 and Service.ID == web-1', true],
    ['not not Service.ID == web-1', true],
    ['Service.ID != web-2', true],
    // a boolean or a number is equal to its text
    ['Service.EnableTagOverride == false', true],
    ['Service.EnableTagOverride == true', false],
    ['Service.Port == "8080"', true],
    // is empty: a missing field, null, "", an empty list or map; not a number or false
    ['Service.Meta.blank is empty', true],
    ['Service.Proxy is empty', true],
    ['Service.Proxy.Upstreams is empty', true],
    ['Upstreams is empty', true],
    ['Upstreams is not empty', false],
    ['Service.TaggedAddresses is empty', true],
    ['Service.Meta is empty', false],
    ['Service.ID is empty', false],
    ['Service.Port is empty', false],
    ['Service.EnableTagOverride is empty', false],
    ['Service.Meta is not empty', true],
    // in and contains: a substring of a string, an element of a list, a key of a map
    ['"web" in Service.ID', true],
    ['"db" in Service.ID', false],
    ['Service.ID contains "eb-"', true],
    ['version in Service.Meta', true],
    ['"version" in Service.Meta', true],
    ['"2" in Service.Meta', false],
    ['Service.Meta contains blank', true],
    ['"8080" in Service.Port', false],
    ['"prim" in Service.Tags', false],
    ['"primary" not in Service.Tags', false],
    // a map's key in brackets, bare (quoted above)
    ['Service.Meta[version] == "2"', true],
    // strings: \" and \\ escape in "..." only; `...` is taken as written
    ['Service.Meta.quote == "say \\"hi\\""', true],
    ['Service.Meta.path == "a\\\\b"', true],
    ['Service.Meta.path == `a\\b`', true],
    ['Service.Meta.path == "a\\b"', false],
  ])('%s → %s', (expression, expected) => {
    expect(matches(expression)).toBe(expected);
  });

  it.each([
    ['Service.Meta.version ==', /end of expression/],
    ['Service.Meta.version = "2"', /unexpected character/],
    ['(Service.ID == a', /end of expression/],
    ['Service.ID == "a', /unterminated string/],
    ['Service.ID matches "("', /invalid regular expression/],
    ['Service.ID == a b', /unexpected "b"/],
    ['Service.ID == a )', /unexpected "\)"/],
    ['== a', /unexpected "=="/],
    ['Service.ID == (', /expected a value, got \(/],
    ['Service. == a', /expected a field name after "\."/],
    ['Service.Meta[] == a', /expected a key inside \[ \]/],
    ['Service.Meta[a b] == a', /expected "\]", got "b"/],
    ['"a" in "b"', /expected a selector after "in"/],
    ['"a" == b', /expected a selector, got "a"/],
    ['Service.ID not == a', /unexpected "not" before ==/],
    ['Service.ID not is empty', /unexpected "not" before "is"/],
    ['Service.ID is full', /expected "empty", got "full"/],
    ['Service.ID is "empty"', /expected "empty", got "empty"/],
    ['Service.ID like a', /unknown operator "like"/],
    ['Service.ID == "a\\"', /unterminated string at position 14/],
    ['Service.ID == a # b', /unexpected character "#" at position 16/],
  ])('rejects %s', (expression, message) => {
    expect(() => compileFilter(expression)).toThrow(FilterError);
    expect(() => compileFilter(expression)).toThrow(message);
    expect(() => compileFilter(expression)).toThrow(
      expect.objectContaining({ name: 'FilterError' }),
    );
  });
});
