import {
  CiFigure,
  CiHealthFigures,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Tooltip from '@material-ui/core/Tooltip';
import Typography from '@material-ui/core/Typography';
import { makeStyles, Theme } from '@material-ui/core/styles';
import {
  CI_FIGURE_DEFINITIONS,
  CiFigureDefinition,
  CiFigureTrend,
  figureTrend,
  formatSample,
} from '../../lib/insights';

const useStyles = makeStyles((theme: Theme) => ({
  grid: {
    display: 'grid',
    gridTemplateColumns: 'repeat(auto-fill, minmax(150px, 1fr))',
    gap: theme.spacing(1),
  },
  tile: {
    padding: theme.spacing(1, 1.5),
    border: `1px solid ${theme.palette.divider}`,
    borderRadius: theme.shape.borderRadius,
  },
  low: {
    color: theme.palette.text.disabled,
  },
  good: { color: theme.palette.success.main },
  bad: { color: theme.palette.error.main },
  neutral: { color: theme.palette.text.secondary },
}));

const ARROWS: Record<CiFigureTrend['direction'], string> = {
  up: '↑',
  down: '↓',
  flat: '→',
};

/** `up, better than the previous window`, read out by screen readers. */
function trendLabel(trend: CiFigureTrend): string {
  const moved = trend.direction === 'flat' ? 'unchanged' : trend.direction;
  if (trend.verdict === 'neutral') {
    return `${moved} from the previous window`;
  }
  return `${moved}, ${
    trend.verdict === 'good' ? 'better' : 'worse'
  } than the previous window`;
}

function FigureTile(props: {
  definition: CiFigureDefinition;
  current: CiFigure;
  previous?: CiFigure;
  minSample: number;
}) {
  const classes = useStyles();
  const { definition, current, previous, minSample } = props;
  const noun = definition.sampleNoun;
  const hasValue = current.value !== undefined;
  const low = hasValue && current.lowSample;
  const trend = low ? undefined : figureTrend(definition, current, previous);

  let caption: string;
  if (!hasValue) {
    caption = `no ${noun}`;
  } else if (low) {
    caption = `too few ${noun} (${current.sample} of ${minSample})`;
  } else {
    caption = formatSample(current.sample, noun);
  }
  const previousText =
    previous?.value === undefined
      ? 'previous: —'
      : `previous: ${definition.format(previous.value)}${
          previous.lowSample ? ' (few)' : ''
        }`;

  return (
    <Box
      className={classes.tile}
      role="group"
      aria-label={definition.label}
      data-testid={`ci-figure-${definition.key}`}
    >
      <Tooltip title={definition.description}>
        <Typography variant="caption" color="textSecondary" component="div">
          {definition.label}
        </Typography>
      </Tooltip>
      <Box display="flex" alignItems="baseline">
        <Typography
          variant="h6"
          component="span"
          className={low ? classes.low : undefined}
        >
          {hasValue ? definition.format(current.value!) : '—'}
        </Typography>
        {trend && (
          <Box
            component="span"
            ml={0.5}
            fontWeight="bold"
            className={classes[trend.verdict]}
            role="img"
            aria-label={trendLabel(trend)}
            title={trendLabel(trend)}
          >
            {ARROWS[trend.direction]}
          </Box>
        )}
      </Box>
      <Typography
        variant="caption"
        component="div"
        className={low || !hasValue ? classes.low : undefined}
        color={low || !hasValue ? undefined : 'textSecondary'}
      >
        {caption}
      </Typography>
      <Typography variant="caption" component="div" color="textSecondary">
        {previousText}
      </Typography>
    </Box>
  );
}

/**
 * The figures of a window, each with the previous window's value, a trend
 * arrow coloured by whether the move is good news, and the sample it rests
 * on; a figure below the minimum sample is greyed and says so instead of
 * showing an arrow.
 */
export function CiFigureTiles(props: {
  current: CiHealthFigures;
  previous?: CiHealthFigures;
  minSample: number;
}) {
  const classes = useStyles();
  return (
    <div className={classes.grid}>
      {CI_FIGURE_DEFINITIONS.map(definition => (
        <FigureTile
          key={definition.key}
          definition={definition}
          current={props.current[definition.key]}
          previous={props.previous?.[definition.key]}
          minSample={props.minSample}
        />
      ))}
    </div>
  );
}
