import { ResponseError } from '@backstage/errors';
import { errorMessage } from './errors';

describe('errorMessage', () => {
  it("prefers the backend's message of a ResponseError", async () => {
    const error = await ResponseError.fromResponse(
      new Response(
        JSON.stringify({
          error: { name: 'NotAllowedError', message: 'You may not rerun' },
          request: { method: 'POST', url: '/x' },
          response: { statusCode: 403 },
        }),
        {
          status: 403,
          statusText: 'Forbidden',
          headers: { 'Content-Type': 'application/json' },
        },
      ) as any,
    );
    expect(errorMessage(error)).toBe('You may not rerun');
  });

  it('falls back to the message of other errors', () => {
    expect(errorMessage(new Error('offline'))).toBe('offline');
    expect(errorMessage('odd')).toBe('odd');
  });
});
