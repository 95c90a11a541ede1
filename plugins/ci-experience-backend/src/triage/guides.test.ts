import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_RULES } from './defaultRules';
import { FailureClassifier } from './FailureClassifier';

/**
 * The troubleshooting guides and the default rules must agree: every class
 * has its guide, and every log line a guide lists under "Log lines that
 * match" is classified as that guide's class by the default rules.
 */
const GUIDES = path.resolve(__dirname, '../../../../docs/troubleshooting');

function matchingLines(markdown: string): string[] {
  const section = markdown.split(/^## Log lines that match$/m)[1];
  if (!section) {
    return [];
  }
  const body = section.split(/^## /m)[0];
  const lines: string[] = [];
  for (const block of body.matchAll(/^```[^\n]*\n([\s\S]*?)^```$/gm)) {
    lines.push(
      ...block[1]
        .split('\n')
        .map(l => l.trim())
        .filter(Boolean),
    );
  }
  return lines;
}

describe('troubleshooting guides', () => {
  const classifier = FailureClassifier.create({
    logger: { warn: jest.fn() } as any,
  });

  it.each(DEFAULT_RULES.map(rule => [rule.id, rule]))(
    '%s: has a guide whose example lines it classifies',
    (id, rule) => {
      const file = path.join(GUIDES, `${id}.md`);
      expect(fs.existsSync(file)).toBe(true);
      expect(rule.guide).toBe(
        `/docs/default/component/ci-experience/troubleshooting/${id}/`,
      );
      const markdown = fs.readFileSync(file, 'utf8');
      // The run page's "How to fix" lands on a page titled as the class.
      expect(markdown.split('\n')[0]).toBe(`# ${rule.title}`);
      const lines = matchingLines(markdown);
      expect(lines.length).toBeGreaterThan(0);
      const wrong = lines
        .map(line => ({ line, got: classifier.classify(line).id }))
        .filter(r => r.got !== id);
      expect(wrong).toEqual([]);
    },
  );

  it('has the guide unknown failures link to', () => {
    expect(fs.existsSync(path.join(GUIDES, 'adding-rules.md'))).toBe(true);
  });
});
