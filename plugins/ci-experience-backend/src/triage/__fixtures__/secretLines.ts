/* Log lines with credentials, for the masking tests. */

/**
 * Tokens in the shapes their issuers document. Where a provider publishes an
 * example value it is used; otherwise the body is made up in the documented
 * alphabet and length.
 */
export const TOKENS = {
  // GitHub changelog 2021-03-31 "Authentication token format updates":
  // prefixes ghp_/gho_/ghu_/ghs_/ghr_, [A-Za-z0-9_], 40 characters today.
  // The body is made up in that alphabet and length.
  ghp: 'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
  gho: 'gho_16C7e42F292c6912E7710c838347Ae178B4a',
  ghu: 'ghu_16C7e42F292c6912E7710c838347Ae178B4a',
  ghs: 'ghs_16C7e42F292c6912E7710c838347Ae178B4a',
  ghr: 'ghr_16C7e42F292c6912E7710c838347Ae178B4a',
  // GitHub blog 2022-10-18 "Introducing fine-grained personal access tokens":
  // github_pat_ + 22 + _ + 59 characters (93 in all).
  githubPat:
    'github_pat_11ABCDEFG0abcdefghijKL_mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmn',
  // GitLab docs, security/tokens "Token prefixes"; 20 characters after the
  // prefix (Devise.friendly_token), and the routable `.`-separated form.
  glpat: 'glpat-xQ9ZmK2vLt7rFw3sYb1N',
  glpatRoutable: 'glpat-8yqHD6Nj0sWnx1LeMapb6G86MQp1OjRuZXR3.01.120elgr4q',
  gldt: 'gldt-Zb2qMv8RwXn4Lp6kTj1s',
  glrt: 'glrt-t1_Fn8vXoQm3sKz2LwP9yHc',
  glcbt: 'glcbt-64_aBcDeFgHiJkLmNoPqRsT',
  glptt: 'glptt-0123456789abcdef0123456789abcdef01234567',
  glft: 'glft-aB3dE5gH7jK9mN1pQ3sT',
  gloas:
    'gloas-7f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b',
  // AWS IAM user guide, "Managing access keys": the documented example pair;
  // ASIA: the same shape for temporary (STS) credentials.
  akia: 'AKIAIOSFODNN7EXAMPLE',
  asia: 'ASIAIOSFODNN7EXAMPLE',
  awsSecret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  // RFC 7519 section 3.1: the example JWT.
  jwt: 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  // Slack docs, "Token types" / OAuth v2 example access token.
  xoxb: 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy',
  // Made up in the same shape.
  xoxp: 'xoxp-23984754863-2348975623103-abcdefabcdefabcdefabcdef12345678',
  // RFC 6750 section 2.1 and RFC 7617 section 2: the example credentials.
  bearer: 'mF_9.B5f-4.1JqM',
  basic: 'QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
};

/** A line with a credential, and what its masked form contains. */
export const SECRET_LINES: Array<[string, string]> = [
  [`remote: Invalid username or password: ${TOKENS.ghp}`, 'ghp_***'],
  [`gh auth login failed for ${TOKENS.gho}`, 'gho_***'],
  [`token ${TOKENS.ghu} expired`, 'ghu_***'],
  [
    `git clone https://x-access-token:${TOKENS.ghs}@github.com/o/r.git`,
    'https://x-access-token:ghs_***@github.com/o/r.git',
  ],
  [`refresh with ${TOKENS.ghr} failed`, 'ghr_***'],
  [`export GH_TOKEN=${TOKENS.githubPat}`, 'GH_TOKEN=github_pat_***'],
  [`Using ${TOKENS.githubPat} for the API`, 'github_pat_***'],
  [`PRIVATE-TOKEN: ${TOKENS.glpat}`, 'PRIVATE-TOKEN: glpat-***'],
  [`401 for ${TOKENS.glpatRoutable} at /api/v4`, 'glpat-*** at /api/v4'],
  [`docker login -u gitlab+deploy-token-1 -p ${TOKENS.gldt}`, 'gldt-***'],
  [`runner token ${TOKENS.glrt} rejected`, 'glrt-***'],
  [`CI_JOB_TOKEN=${TOKENS.glcbt}`, 'CI_JOB_TOKEN=glcbt-***'],
  [`curl -F token=${TOKENS.glptt} -F ref=main`, 'token=glptt-*** -F ref=main'],
  [`feed ${TOKENS.glft}`, 'feed glft-***'],
  [`oauth secret ${TOKENS.gloas}`, 'oauth secret gloas-***'],
  [`aws_access_key_id = ${TOKENS.akia}`, 'aws_access_key_id = AKIA***'],
  [`"AccessKeyId": "${TOKENS.asia}",`, '"AccessKeyId": "ASIA***",'],
  [
    `aws_secret_access_key = ${TOKENS.awsSecret}`,
    'aws_secret_access_key = ***',
  ],
  [
    `AWS_SECRET_ACCESS_KEY=${TOKENS.awsSecret} aws s3 ls`,
    'AWS_SECRET_ACCESS_KEY=*** aws s3 ls',
  ],
  [`id_token: ${TOKENS.jwt}`, 'id_token: eyJ***'],
  [`decoding ${TOKENS.jwt} failed`, 'decoding eyJ*** failed'],
  [`slack: ${TOKENS.xoxb} invalid_auth`, 'xoxb-*** invalid_auth'],
  [`SLACK_TOKEN=${TOKENS.xoxp}`, 'SLACK_TOKEN=xoxp-***'],
  [`> Authorization: Bearer ${TOKENS.bearer}`, 'Authorization: Bearer ***'],
  [`Authorization: Basic ${TOKENS.basic}`, 'Authorization: Basic ***'],
  [
    `curl -H 'Authorization: token ${TOKENS.ghp}' https://api.github.com`,
    "Authorization: token ghp_***' https://api.github.com",
  ],
  [`  password=hunter2 user=ci`, 'password=*** user=ci'],
  [`DB_PASSWORD: s3cr3t!`, 'DB_PASSWORD: ***'],
  [`{"password": "correct horse battery staple"}`, '{"password": "***"}'],
  [`mysql: passwd=p4ss`, 'passwd=***'],
  [`pwd: letmein`, 'pwd: ***'],
  [`client_secret=Zm9vYmFy&grant_type=x`, 'client_secret=***&grant_type=x'],
  [`NPM_TOKEN=abc123def456`, 'NPM_TOKEN=***'],
  [`docker login --password hunter2 reg.example.com`, '--password *** reg'],
  [`fatal: https://ci:hunter2@git.example.com/x.git`, 'ci:***@git'],
];

/** Words of the secrets in SECRET_LINES that are not in TOKENS. */
export const OTHER_SECRETS = [
  'hunter2',
  's3cr3t',
  'horse',
  'p4ss',
  'letmein',
  'Zm9vYmFy',
  'abc123',
];
