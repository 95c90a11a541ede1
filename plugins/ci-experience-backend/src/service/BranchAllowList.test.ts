import { ConfigReader } from '@backstage/config';
import { JsonValue } from '@backstage/types';
import { BranchAllowList } from './BranchAllowList';

const read = (branchAllowList: JsonValue) => {
  const logger = { warn: jest.fn() };
  const list = BranchAllowList.fromConfig(
    new ConfigReader({ ciExperience: { branchAllowList } }),
    logger,
  );
  return { list, logger };
};

describe('BranchAllowList', () => {
  it('gives each named entity its list, the first entry naming it winning', () => {
    const { list, logger } = read([
      { entity: 'component:default/payments-service', branches: ['main'] },
      {
        entity: ['Component:Default/Payments-Service', 'api:team/orders'],
        branches: ['release/*'],
      },
    ]);
    expect(list.patternsFor('component:default/payments-service')).toEqual([
      'main',
    ]);
    // Refs compare case-insensitively, as the catalog does.
    expect(list.patternsFor('API:team/Orders')).toEqual(['release/*']);
    expect(list.patternsFor('component:default/other')).toBeUndefined();
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('applies an entry without entity to every entity no entry names', () => {
    const { list } = read([
      { branches: ['main', 'develop'] },
      { entity: 'checkout-web', branches: ['trunk'] },
    ]);
    expect(list.patternsFor('component:default/checkout-web')).toEqual([
      'trunk',
    ]);
    expect(list.patternsFor('component:default/anything')).toEqual([
      'main',
      'develop',
    ]);
  });

  it('logs and skips bad entries instead of failing', () => {
    const { list, logger } = read([
      { entity: 'component:default/a', branches: [] },
      { entity: [42], branches: ['main'] },
      { entity: 'component:default/b', branches: ['  ', 'x'.repeat(600)] },
      { entity: 'component:default/c' },
      { entity: 'component:default/ok', branches: [' main '] },
    ]);
    expect(logger.warn).toHaveBeenCalledTimes(4);
    expect(logger.warn.mock.calls[0][0]).toMatch(
      /ciExperience\.branchAllowList\[0\].*every branch/,
    );
    expect(list.patternsFor('component:default/a')).toBeUndefined();
    expect(list.patternsFor('component:default/ok')).toEqual(['main']);
  });

  it('allows everything without config', () => {
    expect(
      BranchAllowList.fromConfig(new ConfigReader({}), {
        warn: jest.fn(),
      }).patternsFor('component:default/x'),
    ).toBeUndefined();
  });
});
