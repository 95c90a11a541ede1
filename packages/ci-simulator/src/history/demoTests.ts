import { SimTestCaseSpec, SimTestFailureSpec, SimTestSuiteSpec } from './model';

/*
 * The demo services' tests: what their test jobs run and report, with the
 * few that are flaky (a failure of the job with `test` picks one of them;
 * the attempt that retries it passes) and the one that is broken for most
 * of every 12 hours (every Nightly run of inventory-api fails it then).
 */

const HOUR = 60 * 60_000;

/** jest: a test of a file, in its describe blocks. */
function jest(
  file: string,
  describe: string,
  tests: Array<[string, number, Partial<SimTestCaseSpec>?]>,
): SimTestCaseSpec[] {
  return tests.map(([name, ms, extra]) => ({
    suite: file,
    classname: describe,
    name,
    file,
    ms,
    ...extra,
  }));
}

/** go test: the tests of a package. */
function go(
  pkg: string,
  tests: Array<[string, number, Partial<SimTestCaseSpec>?]>,
): SimTestCaseSpec[] {
  const path = `github.com/demo-org/inventory-api/${pkg}`;
  return tests.map(([name, ms, extra]) => ({
    suite: path,
    classname: path,
    name,
    ms,
    ...extra,
  }));
}

/** JUnit 5 through Gradle: the test methods of a class. */
function junit5(
  cls: string,
  tests: Array<[string, number, Partial<SimTestCaseSpec>?]>,
): SimTestCaseSpec[] {
  return tests.map(([name, ms, extra]) => ({
    suite: cls,
    classname: cls,
    name: `${name}()`,
    ms,
    ...extra,
  }));
}

/** A JUnit 5 assertion's frames, down to the test method's line. */
function assertEqualsAt(method: string): string[] {
  return [
    'org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)',
    'org.junit.jupiter.api.AssertionFailureBuilder.buildAndThrow(AssertionFailureBuilder.java:132)',
    'org.junit.jupiter.api.AssertEquals.failNotEqual(AssertEquals.java:197)',
    'org.junit.jupiter.api.AssertEquals.assertEquals(AssertEquals.java:150)',
    'org.junit.jupiter.api.AssertEquals.assertEquals(AssertEquals.java:145)',
    'org.junit.jupiter.api.Assertions.assertEquals(Assertions.java:531)',
    method,
  ];
}

const gatewayTimeout: SimTestFailureSpec = {
  message:
    'thrown: "Exceeded timeout of 5000 ms for a test.\nAdd a timeout value to this test to increase the timeout, if this is a long-running test. See https://jestjs.io/docs/api#testname-fn-timeout."',
  at: [
    'it (src/gateway/client.test.ts:57:3)',
    'Object.describe (src/gateway/client.test.ts:12:1)',
  ],
};

/** payments-service, `yarn test --ci` (jest with jest-junit). */
export const PAYMENTS_UNIT_TESTS: SimTestSuiteSpec = {
  tool: 'jest-junit',
  artifact: 'test-results',
  reportPath: 'reports/jest/junit.xml',
  cases: [
    ...jest('src/payments/refund.test.ts', 'refunds', [
      ['refunds a captured payment in full', 38],
      ['rounds partial refunds to the cent', 12],
      ['refuses a refund larger than the captured amount', 9],
      ['records the refund in the ledger', 41],
    ]),
    ...jest('src/payments/refund.test.ts', 'refunds › idempotency', [
      ['returns the first refund for a repeated idempotency key', 22],
      ['rejects a reused key with another amount', 7],
    ]),
    ...jest('src/payments/capture.test.ts', 'capture', [
      ['captures an authorized payment', 35],
      ['captures part of an authorization', 18],
      ['refuses to capture an expired authorization', 6],
      ['releases the rest of a partial capture', 27],
    ]),
    ...jest('src/gateway/client.test.ts', 'payment gateway client', [
      ['signs requests with the merchant key', 4],
      [
        'retries a 503 from the gateway with back-off',
        1_850,
        { flaky: true, failure: gatewayTimeout },
      ],
      ['gives up after three attempts', 310],
      ['maps a card decline to PaymentDeclinedError', 5],
      ['sends the idempotency key on every retry', 96],
    ]),
    ...jest('src/invoices/rounding.test.ts', 'invoice rounding', [
      ['rounds half to even', 2],
      ['keeps totals in minor units', 2],
      ['splits VAT per line', 4],
      ['handles zero-decimal currencies (JPY)', 3],
      ['handles three-decimal currencies (KWD)', 0, { skipped: '' }],
    ]),
    ...jest('src/ledger/export.test.ts', 'ledger export', [
      ['exports a day of entries as CSV', 64],
      ['escapes commas in descriptions', 8],
      ['orders entries by posting time', 11],
      ['streams a large export', 420],
    ]),
    ...jest('src/api/payments.routes.test.ts', 'POST /payments', [
      ['creates a payment', 73],
      ['validates the currency', 15],
      ['requires an idempotency key', 12],
    ]),
    ...jest('src/api/payments.routes.test.ts', 'GET /payments/:id', [
      ['returns 404 for an unknown payment', 14],
      ['hides the card number', 19],
    ]),
  ],
};

/** checkout-web, `npm test` (jest with jest-junit, React Testing Library). */
export const CHECKOUT_UNIT_TESTS: SimTestSuiteSpec = {
  tool: 'jest-junit',
  artifact: 'unit-test-results',
  reportPath: 'reports/jest/junit.xml',
  cases: [
    ...jest('src/cart/CartDrawer.test.tsx', 'CartDrawer', [
      ['lists the items in the cart', 112],
      [
        'updates the total when an item is removed',
        148,
        {
          flaky: true,
          failure: {
            type: 'Error',
            message:
              'expect(element).toHaveTextContent()\n\nExpected element to have text content:\n  €42.00\nReceived:\n  €57.50',
            at: ['Object.<anonymous> (src/cart/CartDrawer.test.tsx:71:40)'],
          },
        },
      ],
      ['shows an empty state', 41],
      ['closes on Escape', 63],
    ]),
    ...jest('src/cart/cartReducer.test.ts', 'cartReducer', [
      ['adds an item', 2],
      ['merges lines of the same SKU', 1],
      ['removes an item', 1],
      ['applies a coupon', 3],
      ['rejects an expired coupon', 2],
    ]),
    ...jest('src/checkout/AddressForm.test.tsx', 'AddressForm', [
      ['validates the postcode', 87],
      [
        'fills in the city from the postcode',
        1_240,
        {
          flaky: true,
          failure: {
            type: 'TestingLibraryElementError',
            message:
              'Unable to find an element with the text: Berlin. This could be because the text is broken up by multiple elements. In this case, you can provide a function for your text matcher to make your matcher more flexible.\n\nIgnored nodes: comments, script, style\n<body>\n  <div>\n    <form\n      aria-label="Delivery address"\n    >\n      <input\n        name="postcode"\n        value="10115"\n      />\n      <input\n        name="city"\n        value=""\n      />\n    </form>\n  </div>\n</body>',
            at: [
              'Object.getElementError (node_modules/@testing-library/dom/dist/config.js:37:19)',
              'Object.<anonymous> (src/checkout/AddressForm.test.tsx:48:26)',
            ],
          },
        },
      ],
      ['keeps the address on back navigation', 156],
      ['looks up an Eircode in Ireland', 0, { skipped: '' }],
    ]),
    ...jest('src/checkout/PaymentStep.test.tsx', 'PaymentStep', [
      ['renders the saved cards', 95],
      ['disables Pay while submitting', 77],
      ['shows the decline reason', 58],
    ]),
    ...jest('src/lib/money.test.ts', 'formatMoney', [
      ['formats euros for de-DE', 3],
      ['formats pounds for en-GB', 1],
      ['rounds to minor units', 1],
    ]),
  ],
};

/** checkout-web, `npm run e2e` (jest with Playwright, jest-junit). */
export const CHECKOUT_E2E_TESTS: SimTestSuiteSpec = {
  tool: 'jest-junit',
  artifact: 'e2e-test-results',
  reportPath: 'reports/e2e/junit.xml',
  cases: [
    ...jest('e2e/checkout.e2e.ts', 'checkout', [
      [
        'pays with a saved card',
        8_400,
        {
          flaky: true,
          failure: {
            type: 'TimeoutError',
            message:
              'page.waitForSelector: Timeout 15000ms exceeded.\nCall log:\n  - waiting for locator(\'[data-testid="order-confirmation"]\') to be visible',
            at: ['Object.<anonymous> (e2e/checkout.e2e.ts:48:16)'],
          },
        },
      ],
      ['pays with a new card', 9_100],
      ['shows the order confirmation', 4_200],
      ['applies a gift card', 5_600],
    ]),
    ...jest('e2e/cart.e2e.ts', 'cart', [
      ['adds a product from the listing', 3_300],
      ['keeps the cart after a reload', 2_900],
      ['updates the badge count', 2_100],
    ]),
  ],
};

/** inventory-api, `go test ./...` (reported by go-junit-report). */
export const INVENTORY_UNIT_TESTS: SimTestSuiteSpec = {
  tool: 'go-junit-report',
  artifact: 'test-results',
  reportPath: 'reports/go-test/junit.xml',
  cases: [
    ...go('internal/stock', [
      ['TestReserve', 4],
      ['TestReserve/refuses_more_than_on_hand', 1],
      ['TestRelease', 2],
      ['TestAdjust', 3],
      ['TestAdjust/negative_adjustment_below_zero', 1],
    ]),
    ...go('internal/warehouse', [
      ['TestClient_GetStock', 12],
      [
        'TestClient_RetriesOnTimeout',
        2_010,
        {
          flaky: true,
          failure: {
            message:
              'GetStock() error = Get "http://127.0.0.1:38211/v1/stock/SKU-1042": context deadline exceeded (Client.Timeout exceeded while awaiting headers), want nil',
            at: ['client_test.go:88'],
          },
        },
      ],
      ['TestClient_SendsTheAPIKey', 3],
    ]),
    ...go('internal/sync', [
      ['TestStockSync', 212],
      ['TestStockSync/pulls_all_warehouses', 118],
      ['TestStockSync/keeps_the_last_good_snapshot', 94],
      ['TestSyncSchedule', 1],
      [
        'TestStockSyncLive',
        0,
        {
          skipped:
            '    sync_test.go:131: set WAREHOUSE_API_URL to run against a live warehouse',
        },
      ],
    ]),
    ...go('internal/api', [
      ['TestGetStock', 6],
      ['TestGetStock/unknown_sku_returns_404', 1],
      ['TestPutAdjustment', 5],
      ['TestHealthz', 0],
    ]),
    ...go('internal/store', [
      ['TestPostgresStore_SaveAndLoad', 341],
      ['TestPostgresStore_ConcurrentReservations', 389],
      ['TestMigrations', 265],
    ]),
    ...go('cmd/inventory-api', [
      ['TestConfigFromEnv', 0],
      ['TestConfigFromEnv/defaults', 0],
    ]),
  ],
};

const IT = 'com.demo.inventory.it';

/** inventory-api, `./gradlew integrationTest` (JUnit 5, Gradle's reports). */
export const INVENTORY_INTEGRATION_TESTS: SimTestSuiteSpec = {
  tool: 'gradle',
  artifact: 'integration-test-results',
  reportPath: 'build/test-results/integrationTest',
  cases: [
    ...junit5(`${IT}.ReservationExpiryIT`, [
      [
        'releasesExpiredReservationsBackToStock',
        2_400,
        {
          broken: { everyMs: 12 * HOUR, fixedForMs: 2 * HOUR },
          failure: {
            type: 'org.opentest4j.AssertionFailedError',
            message: 'expected: <12> but was: <10>',
            at: assertEqualsAt(
              `${IT}.ReservationExpiryIT.releasesExpiredReservationsBackToStock(ReservationExpiryIT.java:64)`,
            ),
          },
        },
      ],
      ['keepsReservationsWithinTheirTtl', 1_150],
      ['extendsAReservationWhenCheckoutStarts', 980],
    ]),
    ...junit5(`${IT}.StockSyncIT`, [
      ['syncsStockFromAllWarehouses', 3_100],
      [
        'toleratesAWarehouseOutage',
        10_400,
        {
          flaky: true,
          failure: {
            type: 'org.awaitility.core.ConditionTimeoutException',
            message: `Condition with ${IT}.StockSyncIT was not fulfilled within 10 seconds.`,
            at: [
              'org.awaitility.core.ConditionAwaiter.await(ConditionAwaiter.java:167)',
              'org.awaitility.core.CallableCondition.await(CallableCondition.java:78)',
              'org.awaitility.core.CallableCondition.await(CallableCondition.java:26)',
              'org.awaitility.core.ConditionFactory.until(ConditionFactory.java:1006)',
              'org.awaitility.core.ConditionFactory.until(ConditionFactory.java:975)',
              `${IT}.StockSyncIT.toleratesAWarehouseOutage(StockSyncIT.java:58)`,
            ],
          },
        },
      ],
      ['reconcilesNegativeStock', 740],
    ]),
    ...junit5(`${IT}.OrderFlowIT`, [
      ['reservesStockWhenAnOrderIsPlaced', 860],
      ['releasesStockWhenAnOrderIsCancelled', 910],
      ['rejectsAnOrderForAnUnknownSku', 220],
      ['handlesConcurrentOrdersForTheLastItem', 1_730],
      ['shipsFromTheNearestWarehouse', 0, { skipped: '' }],
    ]),
    ...junit5(`${IT}.ApiContractIT`, [
      ['getStockMatchesTheOpenApiDescription', 410],
      ['putAdjustmentMatchesTheOpenApiDescription', 380],
      ['errorsAreProblemJson', 190],
    ]),
    ...junit5(`${IT}.WarehouseWebhookIT`, [
      ['acceptsASignedStockUpdate', 330],
      ['refusesAnUnsignedStockUpdate', 120],
      ['ignoresARepeatedDelivery', 270],
      ['appliesUpdatesInSequenceOrder', 640],
    ]),
    ...junit5(`${IT}.MigrationIT`, [
      ['migratesAnEmptyDatabase', 2_900],
      ['migratesFromTheLastRelease', 3_600],
    ]),
  ],
};
