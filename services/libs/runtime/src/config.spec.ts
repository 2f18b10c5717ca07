import { ConfigError, envInt, envJson, envList, envNumber, envString } from './config';

describe('config', () => {
  it('reads a value or its fallback, and names a missing required variable', () => {
    expect(envString({ A: ' x ' }, 'A')).toBe('x');
    expect(envString({}, 'A', 'fallback')).toBe('fallback');
    expect(() => envString({}, 'NATS_URL')).toThrow(new ConfigError('NATS_URL is required'));
  });

  it('accepts whole numbers in range and explains anything else', () => {
    expect(envInt({ PORT: '8080' }, 'PORT', 1)).toBe(8080);
    expect(envInt({}, 'PORT', 1)).toBe(1);
    expect(() => envInt({ PORT: '80.5' }, 'PORT', 1, { min: 1, max: 65535 })).toThrow(
      'PORT must be a whole number from 1 to 65535, not "80.5"',
    );
    expect(() => envInt({ PORT: '70000' }, 'PORT', 1, { min: 1, max: 65535 })).toThrow(ConfigError);
  });

  it('accepts fractional numbers in range and explains anything else', () => {
    expect(envNumber({ RETRY: '0.5' }, 'RETRY', 2, { min: 0.1 })).toBe(0.5);
    expect(envNumber({}, 'RETRY', 2)).toBe(2);
    expect(() => envNumber({ RETRY: 'soon' }, 'RETRY', 2, { min: 0.1, max: 60 })).toThrow(
      new ConfigError('RETRY must be a number from 0.1 to 60, not "soon"'),
    );
    expect(() => envNumber({ RETRY: '0' }, 'RETRY', 2, { min: 0.1 })).toThrow(ConfigError);
  });

  it('splits lists and parses JSON', () => {
    expect(envList({ O: 'a, b,,c' }, 'O', [])).toEqual(['a', 'b', 'c']);
    expect(envList({}, 'O', ['d'])).toEqual(['d']);
    expect(envJson({ J: '{"a":1}' }, 'J', {})).toEqual({ a: 1 });
    expect(() => envJson({ J: '{a' }, 'J', {})).toThrow('J must be JSON, not "{a"');
  });
});
