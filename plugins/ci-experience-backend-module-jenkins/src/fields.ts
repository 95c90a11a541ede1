/**
 * Every field the Jenkins provider reads from Jenkins' answers, per
 * endpoint, with its JSON type: the one place they are listed. The `tree=`
 * parameters the provider sends are made from these lists
 * (`treeOf`), and the contract test walks them over the recorded
 * fixtures and the simulator's answers, so a field read here that Jenkins
 * (or the simulator) does not send fails a test.
 *
 * A path is dot-separated; `[]` marks a list whose every element is read.
 */

/**
 * A JSON type, or several where Jenkins sends either (e.g. a null result).
 *
 * @public
 */
export type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'null';

/**
 * One field read: its path and the JSON types it may have.
 *
 * @public
 */
export interface ReadField {
  path: string;
  types: JsonType[];
  /**
   * Sent only by a plugin or a Jenkins newer than the recordings (e.g. the
   * Metrics plugin's queue time): the contract test checks it in the
   * simulator's answer and its type wherever a fixture has it, without
   * requiring a recording to have it. Named with the source that says so.
   */
  sourceOnly?: string;
}

const f = (
  path: string,
  types: JsonType | JsonType[],
  sourceOnly?: string,
): ReadField => ({
  path,
  types: Array.isArray(types) ? types : [types],
  ...(sourceOnly ? { sourceOnly } : {}),
});

/**
 * A build (`{build}/api/json`, or an element of a job's `builds`).
 *
 * @public
 */
export const BUILD_READ: ReadField[] = [
  f('number', 'number'),
  f('url', 'string'),
  f('result', ['string', 'null']),
  f('building', 'boolean'),
  f('timestamp', 'number'),
  f('duration', 'number'),
  f('queueId', 'number'),
  f('actions[].causes[].userId', ['string', 'null']),
  f('actions[].causes[].shortDescription', 'string'),
  f('actions[].lastBuiltRevision.SHA1', 'string'),
  f('actions[].lastBuiltRevision.branch[].name', 'string'),
  // The Metrics plugin's TimeInQueueAction (jenkins.metrics.impl).
  f('actions[].queuingDurationMillis', 'number'),
];

/**
 * What `getRun` reads besides: the names that make the workflow's label.
 *
 * @public
 */
export const BUILD_NAMES_READ: ReadField[] = [
  f('displayName', 'string'),
  f('fullDisplayName', 'string'),
];

/**
 * A job, a multibranch project or a folder (`{job}/api/json`), first page.
 *
 * @public
 */
export const JOB_READ: ReadField[] = [
  f('_class', 'string'),
  f('displayName', 'string'),
  f('inQueue', 'boolean'),
  f('nextBuildNumber', 'number'),
  f('queueItem.inQueueSince', 'number'),
  f('jobs[].name', 'string'),
  f('jobs[].url', 'string'),
];

/**
 * What the default branch is read from (`{job}/api/json`).
 *
 * @public
 */
export const SOURCE_INFO_READ: ReadField[] = [
  f('_class', 'string'),
  // scm-api's PrimaryInstanceMetadataAction, on the primary branch's job.
  f('jobs[].name', 'string'),
  f('jobs[].actions[]._class', 'string'),
  f('builds[].actions[].lastBuiltRevision.branch[].name', 'string'),
];

/**
 * A job's parameters, for a new build (`{job}/api/json`).
 *
 * @public
 */
export const JOB_PARAMETERS_READ: ReadField[] = [
  f('property[].parameterDefinitions[].name', 'string'),
];

/**
 * The Pipeline Stage View API's run (`{build}/wfapi/describe`).
 *
 * @public
 */
export const WFAPI_RUN_READ: ReadField[] = [
  f('stages[].id', 'string'),
  f('stages[].name', 'string'),
  f('stages[].status', 'string'),
  f(
    'stages[].execNode',
    'string',
    'pipeline-stage-view-plugin FlowNodeExt.execNode (2.x); the README sample predates it',
  ),
  f('stages[].startTimeMillis', 'number'),
  f('stages[].durationMillis', 'number'),
];

/**
 * A stage node (`{build}/execution/node/{id}/wfapi/describe`).
 *
 * @public
 */
export const WFAPI_NODE_READ: ReadField[] = [
  f('stageFlowNodes[].id', 'string'),
  f('stageFlowNodes[].name', 'string'),
  f('stageFlowNodes[].status', 'string'),
  f(
    'stageFlowNodes[].parameterDescription',
    'string',
    'pipeline-stage-view-plugin FlowNodeExt.parameterDescription (2.x); the README sample predates it',
  ),
  f('stageFlowNodes[].startTimeMillis', 'number'),
  f('stageFlowNodes[].durationMillis', 'number'),
  f('stageFlowNodes[]._links.log.href', 'string'),
];

/**
 * A flow node's log (`{build}/execution/node/{id}/wfapi/log`).
 *
 * @public
 */
export const WFAPI_LOG_READ: ReadField[] = [
  f('text', 'string'),
  f('hasMore', 'boolean'),
];

/**
 * The JUnit plugin's test report of a build
 * (`{build}/testReport/api/json`, a `hudson.tasks.junit.TestResult`).
 *
 * @public
 */
export const TEST_REPORT_READ: ReadField[] = [
  f('suites[].name', ['string', 'null']),
  f('suites[].cases[].className', ['string', 'null']),
  f('suites[].cases[].name', 'string'),
  f('suites[].cases[].duration', 'number'),
  f('suites[].cases[].status', 'string'),
  f('suites[].cases[].errorDetails', ['string', 'null']),
  f('suites[].cases[].errorStackTrace', ['string', 'null']),
  f('suites[].cases[].skippedMessage', ['string', 'null']),
  f('suites[].cases[].stdout', ['string', 'null']),
  f('suites[].cases[].stderr', ['string', 'null']),
  f(
    'suites[].cases[].flakyFailures',
    'object',
    "junit-plugin CaseResult.getFlakyFailures (@Exported since 1380.v491ff054cd35, Nov 2025: Surefire's <flakyFailure> elements); no recording found",
  ),
];

/**
 * A Notification plugin delivery (JSON format).
 *
 * @public
 */
export const NOTIFICATION_READ: ReadField[] = [
  f('name', 'string'),
  f('url', 'string'),
  f('build.full_url', 'string'),
  f('build.number', 'number'),
  f('build.phase', 'string'),
  f('build.status', 'string'),
  f('build.url', 'string'),
  f('build.timestamp', 'number'),
  f('build.duration', 'number'),
  f('build.scm.branch', 'string'),
  f('build.scm.commit', 'string'),
];

/**
 * The `tree=` value that asks Jenkins for these fields, e.g.
 * `number,actions[causes[userId]]`; `_class` comes anyway. A prefix puts
 * the fields below a list, e.g. `builds[]`.
 *
 * @public
 */
export function treeOf(
  fields: ReadField[],
  options: {
    prefix?: string;
    /** `{from,to}` ranges of top-level lists, e.g. `{ jobs: [0, 100] }`. */
    ranges?: Record<string, [number, number]>;
  } = {},
): string {
  const prefix = options.prefix ?? '';
  interface Node {
    children: Map<string, Node>;
  }
  const root: Node = { children: new Map() };
  for (const { path } of fields) {
    let node = root;
    for (const part of `${prefix}${path}`
      .split('.')
      .map(p => p.replace(/\[\]$/, ''))) {
      let child = node.children.get(part);
      if (!child) {
        child = { children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    }
  }
  const render = (node: Node, top: boolean): string =>
    [...node.children.entries()]
      .map(([name, child]) => {
        const own =
          child.children.size > 0 ? `${name}[${render(child, false)}]` : name;
        const range =
          top &&
          Object.prototype.hasOwnProperty.call(options.ranges ?? {}, name)
            ? options.ranges![name]
            : undefined;
        return range ? `${own}{${range[0]},${range[1]}}` : own;
      })
      .join(',');
  return render(root, true);
}
