import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import type {
  ProviderBytes,
  ProviderBytesTooLarge,
} from '../http/ProviderHttpClient';
import type { CiProviderTestResults, CiTestReport } from '../provider';

/**
 * Downloads of report artifacts per run at most.
 *
 * @public
 */
export const MAX_REPORT_ARTIFACT_DOWNLOADS = 50;

/**
 * An artifact that holds JUnit reports, as a provider lists it: its name
 * for messages, its listed size, and how to download it within a number
 * of bytes (through the provider's budgeted client:
 * `ProviderHttpClient.getBytes`).
 *
 * @public
 */
export interface CiReportArtifact {
  /** Its name or path, for the report and log lines. */
  name: string;
  /** Its size as the listing gives it, in bytes. */
  size: number;
  /** One JUnit XML file, or a zip of them. */
  mediaType: CiTestReport['mediaType'];
  /** Downloads it, reading at most `maxBytes`. */
  download(maxBytes: number): Promise<ProviderBytes | ProviderBytesTooLarge>;
}

/**
 * Downloads a run's report artifacts within its byte budget
 * (`ciExperience.testResults.maxBytes`): an artifact whose listed size is
 * more than what is left is skipped; each download is held to what is
 * left, and the bytes it read count even when it was cut off; one that the
 * provider no longer has (404, 410) is skipped; at most
 * {@link MAX_REPORT_ARTIFACT_DOWNLOADS}. Undefined when none was read.
 *
 * @public
 */
export async function readReportArtifacts(options: {
  artifacts: CiReportArtifact[];
  maxBytes: number;
  /** The run, for log lines: `build 12 of org/app`. */
  run: string;
  logger: LoggerService;
}): Promise<CiProviderTestResults | undefined> {
  const { logger, run } = options;
  const reports: CiTestReport[] = [];
  let left = options.maxBytes;
  let downloads = 0;
  for (const artifact of options.artifacts) {
    const what = `artifact ${artifact.name} of ${run}`;
    if (downloads >= MAX_REPORT_ARTIFACT_DOWNLOADS) {
      logger.warn(
        `Read the first ${MAX_REPORT_ARTIFACT_DOWNLOADS} test report artifacts of ${run}; the others were skipped`,
      );
      break;
    }
    if (artifact.size > left) {
      logger.warn(
        `Skipped ${what}: its ${artifact.size} bytes are more than the ${left} left of the run's test report bytes (ciExperience.testResults.maxBytes)`,
      );
      continue;
    }
    downloads += 1;
    let read;
    try {
      read = await artifact.download(left);
    } catch (error) {
      if (error instanceof NotFoundError) {
        // Expired or deleted since the listing.
        continue;
      }
      throw error;
    }
    if ('tooLarge' in read) {
      left -= read.read;
      logger.warn(
        `Stopped reading ${what}: it is longer than the bytes left of the run's test report bytes (ciExperience.testResults.maxBytes)`,
      );
      continue;
    }
    left -= read.data.byteLength;
    reports.push({
      name: artifact.name,
      mediaType: artifact.mediaType,
      data: read.data,
    });
  }
  return reports.length > 0 ? { reports } : undefined;
}
