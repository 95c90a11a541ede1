import { renderInTestApp } from '@backstage/frontend-test-utils';
import { screen, waitFor } from '@testing-library/react';
import { CiExperienceApi, ciExperienceApiRef } from '../../api';
import {
  alertsApiStubs,
  testsApiStubs,
  makeRunDetail,
  insightsApiStubs,
} from '../../testing/fixtures';
import { CiJobLogPanel } from './CiJobLogPanel';

jest.setTimeout(30_000);

const job = makeRunDetail().jobs[2];

function fakeApi(text: string) {
  return {
    getRuns: jest.fn(),
    getRun: jest.fn(),
    getJobLog: jest.fn(async () => ({ text, truncated: false })),
    rerunRun: jest.fn(),
    cancelRun: jest.fn(),
    ...insightsApiStubs(),
    ...alertsApiStubs(),
    ...testsApiStubs(),
  } satisfies CiExperienceApi;
}

describe('CiJobLogPanel', () => {
  // LogViewer sizes itself to its container, which jsdom does not lay out:
  // give every element a size so that it renders its lines.
  beforeEach(() => {
    jest.spyOn(HTMLElement.prototype, 'getBoundingClientRect').mockReturnValue({
      x: 0,
      y: 0,
      top: 0,
      left: 0,
      bottom: 480,
      right: 1000,
      width: 1000,
      height: 480,
      toJSON: () => ({}),
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('renders log text as text: markup in a log never becomes elements', async () => {
    const alert = jest.spyOn(window, 'alert').mockImplementation(() => {});
    const api = fakeApi(
      [
        'Run tests',
        '<script>alert(1)</script>',
        '<img src=x onerror=alert(1)>',
        '\u001b[31mFAIL\u001b[0m src/refunds.test.ts',
      ].join('\n'),
    );
    renderInTestApp(<CiJobLogPanel runId="run-1" job={job} available />, {
      apis: [[ciExperienceApiRef, api]],
    });

    const log = await screen.findByTestId('job-log');
    // The markup is shown, character for character, as the log's text.
    expect(
      await screen.findByText('<script>alert(1)</script>'),
    ).toBeInTheDocument();
    expect(
      screen.getByText('<img src=x onerror=alert(1)>'),
    ).toBeInTheDocument();
    // ANSI colours are rendered, their escape codes are not.
    expect(screen.getByText('FAIL')).toBeInTheDocument();
    expect(log.textContent).not.toContain('\u001b');

    expect(log.querySelectorAll('script')).toHaveLength(0);
    expect(log.querySelectorAll('img')).toHaveLength(0);
    expect(document.querySelectorAll('script, img')).toHaveLength(0);
    expect(log.querySelector('[onerror]')).toBeNull();
    expect(alert).not.toHaveBeenCalled();
    expect(api.getJobLog).toHaveBeenCalledWith('run-1', '103');
  });

  it('does not ask for a log the provider cannot serve', async () => {
    const api = fakeApi('never read');
    renderInTestApp(
      <CiJobLogPanel runId="run-1" job={job} available={false} />,
      { apis: [[ciExperienceApiRef, api]] },
    );
    expect(
      await screen.findByText(/logs cannot be read through the portal/),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: /Open the job at the provider/ }),
    ).toHaveAttribute(
      'href',
      'https://github.com/octo-org/payments/actions/runs/1/job/103',
    );
    await waitFor(() => expect(api.getJobLog).not.toHaveBeenCalled());
  });

  it('says so for an empty log', async () => {
    renderInTestApp(<CiJobLogPanel runId="run-1" job={job} available />, {
      apis: [[ciExperienceApiRef, fakeApi('')]],
    });
    expect(
      await screen.findByText("This job's log is empty."),
    ).toBeInTheDocument();
  });
});
