/**
 * State of the test console: the request as a form (fields from predict's input schema) or as
 * raw JSON, its problems, the answer, and the requests sent this session (replayable).
 */
import { IDeployAPI } from './api';
import { Draft, IField, draftOf, fieldOf, valueOf } from './form/fields';
import { IFieldError, ISchema, checkValue } from './form/schema';
import { exampleText } from './names';
import { Wire } from './types';

export type ConsoleMode = 'form' | 'json';

/** A request sent from the console, with what came back. */
export interface IHistoryEntry {
  id: number;
  /** The deployment it went to. */
  name: string;
  body: unknown;
  result: Wire.IInvokeResult | null;
  /** Why no answer came (the server or the network), when none did. */
  error: string | null;
  sentAt: number;
}

/** Where the schema and example came from: the live deploy.json wins over a preview. */
export type SchemaSource = 'live' | 'preview';

/** The deploy.json fields the console reads. */
export interface IConsoleMetadata {
  input_schema?: ISchema;
  example?: unknown;
}

/** How many requests the history keeps. */
const MAX_HISTORY = 50;

export class ConsoleModel {
  constructor(api: IDeployAPI, onChange: () => void) {
    this._api = api;
    this._onChange = onChange;
  }

  /**
   * The deployment's API key this session made (shown once, kept in memory only): the console
   * sends it and the snippets carry it.
   */
  apiKey: string | null = null;

  get field(): IField | null {
    return this._field;
  }

  get mode(): ConsoleMode {
    return this._field ? this._mode : 'json';
  }

  get draft(): Draft | null {
    return this._draft;
  }

  /** The request body as JSON text (what the JSON view edits and the snippets show). */
  get text(): string {
    return this._text;
  }

  /** Every problem of the request; Send waits until there is none. */
  get errors(): IFieldError[] {
    return this._errors;
  }

  get result(): Wire.IInvokeResult | null {
    return this._result;
  }

  /** Why the last send got no answer from the service. */
  get sendError(): string | null {
    return this._sendError;
  }

  get sending(): boolean {
    return this._sending;
  }

  /** The requests sent this session to `name`, newest first. */
  historyOf(name: string): IHistoryEntry[] {
    return this._history.filter(entry => entry.name === name);
  }

  /** Take the input schema and example; a person's edits are kept, a live source wins. */
  setSource(metadata: IConsoleMetadata, source: SchemaSource): void {
    if (source === 'preview' && this._source === 'live') {
      return;
    }
    this._source = source;
    const schema = metadata.input_schema;
    this._field = schema && schema.type === 'object' ? fieldOf(schema) : null;
    if (!this._edited && metadata.example !== undefined) {
      this._text = exampleText(metadata.example);
    }
    this._fromText();
    this._onChange();
  }

  /** Another notebook: forget the schema and the request (history stays for the session). */
  reset(): void {
    this.apiKey = null;
    this._field = null;
    this._source = null;
    this._draft = null;
    this._text = '{}';
    this._edited = false;
    this._result = null;
    this._sendError = null;
    this._fromText();
  }

  setMode(mode: ConsoleMode): void {
    if (mode === 'form' && (!this._field || this._draft === null)) {
      return;
    }
    this._mode = mode;
    this._onChange();
  }

  /** The form changed. */
  setDraft(draft: Draft): void {
    if (!this._field) {
      return;
    }
    this._edited = true;
    this._draft = draft;
    const { value, errors } = valueOf(this._field, draft);
    this._text = JSON.stringify(value, null, 2);
    this._errors = errors;
    this._onChange();
  }

  /** The JSON text changed. */
  setText(text: string): void {
    this._edited = true;
    this._text = text;
    this._fromText();
    this._onChange();
  }

  /** Send the request to the live /predict of `name`; nothing is sent while it has problems. */
  async send(name: string): Promise<Wire.IInvokeResult | null> {
    if (this._errors.length || this._sending) {
      return null;
    }
    return this._post(name, JSON.parse(this._text));
  }

  /** Put a past request back in the console and send it again. */
  async replay(entry: IHistoryEntry): Promise<Wire.IInvokeResult | null> {
    this._edited = true;
    this._text = JSON.stringify(entry.body, null, 2);
    this._fromText();
    this._onChange();
    return this.send(entry.name);
  }

  private async _post(
    name: string,
    body: unknown
  ): Promise<Wire.IInvokeResult | null> {
    this._sending = true;
    this._result = null;
    this._sendError = null;
    this._onChange();
    const entry: IHistoryEntry = {
      id: ++this._sent,
      name,
      body,
      result: null,
      error: null,
      sentAt: Date.now()
    };
    try {
      entry.result = await this._api.invoke(name, body, this.apiKey);
    } catch (error) {
      entry.error = error instanceof Error ? error.message : String(error);
    }
    this._history = [entry, ...this._history].slice(0, MAX_HISTORY);
    this._result = entry.result;
    this._sendError = entry.error;
    this._sending = false;
    this._onChange();
    return entry.result;
  }

  /** Parse the JSON text: its problems, and the form's draft when it parses. */
  private _fromText(): void {
    let value: unknown;
    try {
      value = JSON.parse(this._text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this._errors = [{ path: '', message: `not valid JSON: ${reason}` }];
      this._draft = null; // the form waits for JSON it can show
      return;
    }
    const schema = this._field?.schema;
    this._errors = schema ? checkValue(schema, value) : [];
    this._draft = this._field ? draftOf(this._field, value) : null;
  }

  private _api: IDeployAPI;
  private _onChange: () => void;
  private _field: IField | null = null;
  private _source: SchemaSource | null = null;
  private _mode: ConsoleMode = 'form';
  private _draft: Draft | null = null;
  private _text = '{}';
  private _errors: IFieldError[] = [];
  private _edited = false;
  private _result: Wire.IInvokeResult | null = null;
  private _sendError: string | null = null;
  private _sending = false;
  private _history: IHistoryEntry[] = [];
  private _sent = 0;
}
