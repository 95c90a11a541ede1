export interface Config {
  ciExperience?: {
    providers?: {
      /**
       * CI events: runs any CI posts to
       * `POST /api/ci-experience/webhooks/ci-events` (docs/providers/ci-events.md).
       * Without `senders`, the provider is off.
       */
      ciEvents?: {
        /**
         * Who may post, each with its own token
         * (`Authorization: Bearer <token>`) and the sources it may post for.
         */
        senders: Array<{
          /**
           * The sender's token.
           * @visibility secret
           */
          token: string;
          /**
           * Globs over the source names this sender may post runs for
           * (`*` any run of characters); default none.
           */
          sources: string[];
        }>;
        /** How long posted runs are kept for the sync to read, in days. Default 7. */
        keepDays?: number;
      };
    };
  };
}
