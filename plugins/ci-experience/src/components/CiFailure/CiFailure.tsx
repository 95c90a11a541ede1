import { Link } from '@backstage/core-components';
import { CiFailureClass } from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';

/** The id the triage gives a failure no rule matched. */
export const UNKNOWN_FAILURE_ID = 'unknown';

/**
 * The TechDocs guide on adding a triage rule, in the portal; where unknown
 * failures lead when the backend names no guide of its own.
 */
export const ADDING_RULES_GUIDE =
  '/docs/default/component/ci-experience/troubleshooting/adding-rules/';

const useStyles = makeStyles(theme => ({
  line: {
    display: 'block',
    marginTop: theme.spacing(0.5),
    padding: theme.spacing(0.5, 1),
    fontFamily: 'monospace',
    fontSize: theme.typography.body2.fontSize,
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-word',
    background: theme.palette.background.default,
    borderLeft: `3px solid ${theme.palette.error.main}`,
  },
}));

export function isUnknownFailure(failure: CiFailureClass): boolean {
  return failure.id === UNKNOWN_FAILURE_ID;
}

/** Where a failure's "How to fix" link leads; undefined when nowhere. */
export function failureGuide(failure: CiFailureClass): string | undefined {
  if (failure.guide) {
    return failure.guide;
  }
  return isUnknownFailure(failure) ? ADDING_RULES_GUIDE : undefined;
}

/**
 * The "How to fix" link of a failure class: its TechDocs guide, opened
 * inside the portal. Unknown failures lead to the guide on adding a rule.
 */
export function CiFailureGuideLink(props: { failure: CiFailureClass }) {
  const { failure } = props;
  const guide = failureGuide(failure);
  if (!guide) {
    return null;
  }
  const unknown = isUnknownFailure(failure);
  return (
    <Link
      to={guide}
      aria-label={
        unknown
          ? 'How to add a triage rule for this failure'
          : `How to fix: ${failure.title}`
      }
    >
      {unknown ? 'How to add a rule' : 'How to fix'}
    </Link>
  );
}

/**
 * A failure class in one line, for the runs table and the attempts list:
 * its title and its "How to fix" link.
 */
export function CiFailureInline(props: { failure: CiFailureClass }) {
  const { failure } = props;
  return (
    <Typography variant="body2" component="span">
      <span title={failure.line} data-testid="failure-title">
        {isUnknownFailure(failure) ? 'Unknown failure' : failure.title}
      </span>
      {failureGuide(failure) && (
        <>
          {' · '}
          <CiFailureGuideLink failure={failure} />
        </>
      )}
    </Typography>
  );
}

/**
 * A failure class in full, for a failed job on the run page: what it is,
 * the log line that gave it away, and how to fix it. Every text here comes
 * from the backend and is rendered as text.
 */
export function CiFailureDetails(props: { failure: CiFailureClass }) {
  const { failure } = props;
  const classes = useStyles();
  const unknown = isUnknownFailure(failure);
  return (
    <Box>
      <Box display="flex" alignItems="center" flexWrap="wrap">
        <Typography variant="subtitle2" component="span">
          {unknown ? 'Unknown failure' : failure.title}
        </Typography>
        {failure.category && (
          <Box ml={1} component="span">
            <Chip size="small" label={failure.category} />
          </Box>
        )}
        {failureGuide(failure) && (
          <Box ml={1} component="span">
            <CiFailureGuideLink failure={failure} />
          </Box>
        )}
      </Box>
      {unknown && (
        <Typography variant="body2" color="textSecondary">
          No triage rule matched this job's log. If this failure comes back, a
          rule for it tells the next person what it is and how to fix it.
        </Typography>
      )}
      {failure.line && (
        <Box mt={0.5}>
          <Typography variant="caption" color="textSecondary">
            Matched log line
          </Typography>
          <code className={classes.line} data-testid="failure-line">
            {failure.line}
          </code>
        </Box>
      )}
    </Box>
  );
}
