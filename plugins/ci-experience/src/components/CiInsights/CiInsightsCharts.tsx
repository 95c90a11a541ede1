import { Link } from '@backstage/core-components';
import { CiInsightsResponse } from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { useTheme } from '@material-ui/core/styles';
import { ReactNode } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { formatFigureDuration, formatPercent } from '../../lib/insights';

const CHART_HEIGHT = 180;

/** `05-01` for `2024-05-01`: the year is the window's, the label short. */
const shortDay = (day: string) => day.slice(5);

function ChartBox(props: {
  title: string;
  testId: string;
  children: ReactNode;
}) {
  return (
    <Box flex="1 1 300px" minWidth={260} m={1} data-testid={props.testId}>
      <Typography variant="subtitle2" component="h3">
        {props.title}
      </Typography>
      {props.children}
    </Box>
  );
}

function NoData(props: { children: ReactNode }) {
  return (
    <Box
      height={CHART_HEIGHT}
      display="flex"
      alignItems="center"
      justifyContent="center"
    >
      <Typography variant="body2" color="textSecondary">
        {props.children}
      </Typography>
    </Box>
  );
}

/**
 * Duration over time (p50 and p95), success rate over time, and failures by
 * class, each class linking to its troubleshooting guide.
 */
export function CiInsightsCharts(props: { insights: CiInsightsResponse }) {
  const theme = useTheme();
  const { trend, failuresByClass } = props.insights;
  const hasDurations = trend.some(point => point.durationP50 !== undefined);
  const hasRates = trend.some(point => point.successRate !== undefined);
  const classes = [...failuresByClass].sort((a, b) => b.count - a.count);

  return (
    <Box display="flex" flexWrap="wrap" mx={-1}>
      <ChartBox title="Duration per day" testId="ci-chart-duration">
        {hasDurations ? (
          <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
            <LineChart data={trend}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="day" tickFormatter={shortDay} />
              <YAxis tickFormatter={formatFigureDuration} width={64} />
              <Tooltip
                formatter={(value: number) => formatFigureDuration(value)}
              />
              <Legend />
              <Line
                type="monotone"
                dataKey="durationP50"
                name="p50"
                stroke={theme.palette.primary.main}
                // Dots: a day alone (a young history) still shows.
                dot={{ r: 2 }}
                connectNulls
                isAnimationActive={false}
              />
              <Line
                type="monotone"
                dataKey="durationP95"
                name="p95"
                stroke={theme.palette.secondary.main}
                dot={{ r: 2 }}
                connectNulls
                isAnimationActive={false}
              />
            </LineChart>
          </ResponsiveContainer>
        ) : (
          <NoData>No finished run with a duration in this window.</NoData>
        )}
      </ChartBox>
      <ChartBox title="Success rate per day" testId="ci-chart-success">
        {hasRates ? (
          <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
            <LineChart data={trend}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="day" tickFormatter={shortDay} />
              <YAxis domain={[0, 1]} tickFormatter={formatPercent} width={48} />
              <Tooltip formatter={(value: number) => formatPercent(value)} />
              <Line
                type="monotone"
                dataKey="successRate"
                name="Success rate"
                stroke={theme.palette.success.main}
                dot={{ r: 2 }}
                connectNulls
                isAnimationActive={false}
              />
            </LineChart>
          </ResponsiveContainer>
        ) : (
          <NoData>No succeeded or failed run in this window.</NoData>
        )}
      </ChartBox>
      <ChartBox title="Failures by class" testId="ci-chart-failures">
        {classes.length > 0 ? (
          <>
            <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
              <BarChart data={classes}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="title" />
                <YAxis allowDecimals={false} width={32} />
                <Tooltip />
                <Bar
                  dataKey="count"
                  name="Failed jobs"
                  fill={theme.palette.error.main}
                  isAnimationActive={false}
                />
              </BarChart>
            </ResponsiveContainer>
            <Box component="ul" m={0} pl={2}>
              {classes.map(failureClass => (
                <li key={failureClass.id}>
                  <Typography variant="body2" component="span">
                    {failureClass.guide ? (
                      <Link to={failureClass.guide}>{failureClass.title}</Link>
                    ) : (
                      failureClass.title
                    )}
                    {`: ${failureClass.count} failed ${
                      failureClass.count === 1 ? 'job' : 'jobs'
                    }`}
                  </Typography>
                </li>
              ))}
            </Box>
          </>
        ) : (
          <NoData>No classified job failure in this window.</NoData>
        )}
      </ChartBox>
    </Box>
  );
}
