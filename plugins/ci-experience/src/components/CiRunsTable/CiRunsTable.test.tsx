import { renderInTestApp } from '@backstage/frontend-test-utils';
import { screen, within } from '@testing-library/react';
import { makeRun } from '../../testing/fixtures';
import { CiRunsTable } from './CiRunsTable';

// Rendering the full table is slow on a loaded 2-core machine; this is no speed target.
jest.setTimeout(30_000);

const LONG_MESSAGE =
  'Rework how refunds are rounded when the currency has no minor unit, and say so in the changelog\n\nThe body of the commit.';

const runs = [
  makeRun({ id: 'gh', commitMessage: LONG_MESSAGE }),
  makeRun({
    id: 'gl',
    provider: 'gitlab',
    source: 'group/payments',
    workflow: 'Merge train',
    runNumber: 2,
  }),
  makeRun({
    id: 'jk',
    provider: 'jenkins',
    source: 'demo-org/payments',
    workflow: 'demo-org/payments-service/release%2F1.2',
    runNumber: 3,
  }),
  makeRun({
    id: 'jk2',
    provider: 'jenkins',
    source: 'demo-org/checkout',
    workflow: 'demo-org/checkout-web',
    workflowLabel: 'Checkout web',
    runNumber: 4,
  }),
  makeRun({ id: 'bk', provider: 'buildkite', runNumber: 5 }),
  makeRun({ id: 'cc', provider: 'circleci', runNumber: 6 }),
  makeRun({ id: 'dr', provider: 'drone', runNumber: 7 }),
];

async function renderTable() {
  await renderInTestApp(
    <CiRunsTable runs={runs} loading={false} emptyContent="No runs" />,
  );
  return screen.getByRole('table');
}

describe('CiRunsTable', () => {
  it('keeps each run on one line: cells do not wrap, long texts end in an ellipsis', async () => {
    const table = await renderTable();
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(runs.length);
    for (const row of rows) {
      for (const cell of within(row).getAllByRole('cell')) {
        expect(cell).toHaveStyle({ whiteSpace: 'nowrap' });
      }
    }

    // The commit message: its first line, cut where the cell ends, the
    // whole message on hover.
    const message = within(table).getByTitle(/^Rework how refunds/);
    expect(message).toHaveAttribute('title', LONG_MESSAGE.trim());
    expect(message).toHaveTextContent(
      /^0123456\s*Rework how refunds are rounded .* in the changelog$/,
    );
    expect(message).not.toHaveTextContent('The body of the commit');
    expect(message).toHaveStyle({
      display: 'block',
      overflow: 'hidden',
      textOverflow: 'ellipsis',
      whiteSpace: 'nowrap',
    });
    // Its cell cuts it too; the layout is fixed, so texts never widen the
    // table beyond its box.
    expect(message.closest('td')).toHaveStyle({
      overflow: 'hidden',
      textOverflow: 'ellipsis',
    });
    expect(table).toHaveStyle({ tableLayout: 'fixed' });
  });

  it('shows short workflow names, the full one on hover', async () => {
    const table = await renderTable();
    // A Jenkins job's path: its last segment.
    expect(
      within(table).getByTitle('demo-org/payments-service/release%2F1.2'),
    ).toHaveTextContent(/^release%2F1\.2$/);
    // The provider's own short name where it gives one.
    expect(within(table).getByTitle('demo-org/checkout-web')).toHaveTextContent(
      /^Checkout web$/,
    );
    // Names that are no paths stay whole.
    expect(within(table).getByTitle('Merge train')).toHaveTextContent(
      /^Merge train$/,
    );
    expect(
      within(table).getByRole('link', {
        name: 'Checkout web #4: jobs and logs',
      }),
    ).toHaveAttribute('href', '/runs/jk2');
  });

  it("marks each run with its provider's icon, a generic one for others", async () => {
    const table = await renderTable();
    const icons = (name: string) => within(table).getAllByRole('img', { name });
    expect(icons('GitHub Actions')[0]).toHaveAttribute(
      'data-provider',
      'github-actions',
    );
    expect(icons('GitLab CI')[0]).toHaveAttribute('data-provider', 'gitlab');
    expect(icons('Jenkins')).toHaveLength(2);
    expect(icons('Jenkins')[0]).toHaveAttribute('data-provider', 'jenkins');
    expect(icons('Buildkite')[0]).toHaveAttribute('data-provider', 'buildkite');
    expect(icons('CircleCI')[0]).toHaveAttribute('data-provider', 'circleci');
    expect(icons('drone')[0]).toHaveAttribute('data-provider', 'generic');
    // The link to the provider still names it.
    expect(
      within(table).getByRole('link', { name: /^CI #6 on CircleCI/ }),
    ).toHaveAttribute(
      'href',
      'https://github.com/octo-org/payments/actions/runs/1',
    );
  });
});
