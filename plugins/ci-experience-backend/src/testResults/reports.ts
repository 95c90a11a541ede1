import yauzl from 'yauzl';
import {
  JunitError,
  JunitLimits,
  JunitParser,
  mergeAttempts,
  ParsedTestCase,
} from './junit';

/** Bounds on a zip of reports, on top of {@link JunitLimits}. */
export interface ZipLimits {
  /** Entries in the archive, directories and other files included. */
  maxEntries: number;
  /** Uncompressed bytes of all the XML entries read, as actually inflated. */
  maxUncompressedBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 1_000,
  maxUncompressedBytes: 256 * 1024 * 1024,
};

/** Whether a zip entry is a report: an `.xml` file, not macOS metadata. */
function isReport(fileName: string): boolean {
  return (
    /\.xml$/i.test(fileName) &&
    !fileName.endsWith('/') &&
    !fileName.startsWith('__MACOSX/')
  );
}

/**
 * The test cases of a zip of JUnit reports, each XML entry streamed
 * through the parser (never inflated whole), within the zip's and the
 * parser's limits. Throws a {@link JunitError}: `too-large` for a broken
 * limit, `malformed` for a broken archive or report (naming the entry).
 */
export function readZipReports(
  zip: Buffer,
  limits: Partial<JunitLimits & ZipLimits> = {},
): Promise<ParsedTestCase[]> {
  const zipLimits = { ...DEFAULT_ZIP_LIMITS, ...limits };
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(
      zip,
      { lazyEntries: true, validateEntrySizes: true },
      (openError, zipfile) => {
        if (openError || !zipfile) {
          reject(
            new JunitError(
              `Not a readable zip archive: ${
                openError?.message ?? 'no archive'
              }`,
            ),
          );
          return;
        }
        const cases: ParsedTestCase[] = [];
        let entries = 0;
        let inflated = 0;
        let done = false;
        const finish = (error?: Error) => {
          if (done) return;
          done = true;
          zipfile.close();
          if (error) {
            reject(
              error instanceof JunitError
                ? error
                : new JunitError(
                    `Not a readable zip archive: ${error.message}`,
                  ),
            );
          } else {
            resolve(cases);
          }
        };
        zipfile.on('error', finish);
        zipfile.on('end', () => finish());
        zipfile.on('entry', (entry: yauzl.Entry) => {
          entries += 1;
          if (entries > zipLimits.maxEntries) {
            finish(
              new JunitError(
                `More than ${zipLimits.maxEntries} entries in the zip`,
                'too-large',
              ),
            );
            return;
          }
          if (!isReport(entry.fileName)) {
            zipfile.readEntry();
            return;
          }
          if (
            inflated + entry.uncompressedSize >
            zipLimits.maxUncompressedBytes
          ) {
            finish(
              new JunitError(
                `The zip's reports inflate to more than ${zipLimits.maxUncompressedBytes} bytes`,
                'too-large',
              ),
            );
            return;
          }
          zipfile.openReadStream(entry, (streamError, stream) => {
            if (streamError || !stream) {
              finish(streamError ?? new Error('no stream'));
              return;
            }
            const parser = new JunitParser(limits, cases.length);
            stream.on('data', (chunk: Buffer) => {
              if (done) return;
              // Counted as inflated, not as the header says (a header may lie).
              inflated += chunk.length;
              try {
                if (inflated > zipLimits.maxUncompressedBytes) {
                  throw new JunitError(
                    `The zip's reports inflate to more than ${zipLimits.maxUncompressedBytes} bytes`,
                    'too-large',
                  );
                }
                parser.write(chunk);
              } catch (e) {
                stream.destroy();
                finish(named(e, entry.fileName));
              }
            });
            stream.on('error', e => finish(named(e, entry.fileName)));
            stream.on('end', () => {
              if (done) return;
              try {
                cases.push(...parser.end());
              } catch (e) {
                finish(named(e, entry.fileName));
                return;
              }
              zipfile.readEntry();
            });
          });
        });
        zipfile.readEntry();
      },
    );
  });
}

function named(error: unknown, fileName: string): JunitError {
  if (error instanceof JunitError) {
    return new JunitError(`${fileName}: ${error.message}`, error.kind);
  }
  return new JunitError(
    `${fileName}: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/** The media types an upload may have. */
export type ReportMediaType = 'application/xml' | 'application/zip';

/**
 * One result per test from an upload: a JUnit XML file
 * (`application/xml`, also `text/xml`) or a zip of them
 * (`application/zip`), retries merged ({@link mergeAttempts}).
 */
export async function readReports(
  body: Buffer,
  mediaType: ReportMediaType,
  limits: Partial<JunitLimits & ZipLimits> = {},
): Promise<ParsedTestCase[]> {
  if (mediaType === 'application/zip') {
    return mergeAttempts(await readZipReports(body, limits));
  }
  const parser = new JunitParser(limits);
  parser.write(body);
  return mergeAttempts(parser.end());
}
