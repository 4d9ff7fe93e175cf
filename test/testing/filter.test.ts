import { describe, expect, it } from 'vitest';
import { compileFilter, FilterError } from '../../src/testing/model/filter.js';

const entry = {
  Node: { Node: 'n1', Meta: { rack: 'r1' } },
  Service: { ID: 'web-1', Port: 8080, Tags: ['primary', 'v2'], Meta: { version: '2' } },
  Checks: [{ Status: 'passing' }, { Status: 'warning' }],
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
  ])('rejects %s', (expression, message) => {
    expect(() => compileFilter(expression)).toThrow(FilterError);
    expect(() => compileFilter(expression)).toThrow(message);
  });
});
