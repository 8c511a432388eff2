// A bench must not measure an error path: before any load, one review is sent and its answer must
// be an allowed AdmissionReview whose patch adds the istio-proxy container.
import { request } from 'node:https';

export async function assertInjects(name: string, url: string, body: string): Promise<void> {
  const { status, text } = await postOnce(url, body);
  const fail = (why: string) => {
    throw new Error(`${name} did not inject the bench's pod (${why}); the bench would measure an error path. Answer (HTTP ${status}): ${text.slice(0, 500)}`);
  };
  if (status !== 200) fail(`HTTP ${status}`);
  let review: { response?: { allowed?: boolean; patch?: string } };
  try {
    review = JSON.parse(text) as typeof review;
  } catch {
    return fail('the answer is not JSON');
  }
  if (review.response?.allowed !== true) fail('the review was not allowed');
  const patch = review.response?.patch ? Buffer.from(review.response.patch, 'base64').toString('utf8') : '';
  if (!patch.includes('"istio-proxy"')) fail('the patch adds no istio-proxy container');
}

function postOnce(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const call = request(url, { method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    call.on('error', reject);
    call.end(body);
  });
}
