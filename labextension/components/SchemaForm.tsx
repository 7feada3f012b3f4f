import * as React from 'react';

import { Draft, IField, IProperty, emptyDraft } from '../form/fields';
import { IFieldError, joinPath, typeLabel } from '../form/schema';

interface IEditorProps {
  field: IField;
  draft: Draft;
  /** Where the value sits in the body (`features.2`); each input is labelled by it. */
  path: string;
  errors: Map<string, string>;
  onChange: (draft: Draft) => void;
}

/** The request as a form: one field per argument of predict, nested as the schema says. */
export function SchemaForm(props: {
  field: IField;
  draft: Draft;
  errors: IFieldError[];
  onChange: (draft: Draft) => void;
}): JSX.Element {
  const errors = new Map(props.errors.map(e => [e.path, e.message]));
  return (
    <div className="jp-Deploy-form">
      <FieldEditor
        field={props.field}
        draft={props.draft}
        path=""
        errors={errors}
        onChange={props.onChange}
      />
      {errors.has('') && <FieldError message={errors.get('')!} />}
    </div>
  );
}

function FieldError(props: { message: string }): JSX.Element {
  return (
    <div className="jp-Deploy-fieldError" role="alert">
      {props.message}
    </div>
  );
}

function FieldEditor(props: IEditorProps): JSX.Element {
  const { field, draft, path } = props;
  const error = path ? props.errors.get(path) : undefined;
  let editor: JSX.Element;
  if (draft.t === 'null') {
    editor = <span className="jp-Deploy-null">null</span>;
  } else if (draft.t === 'list') {
    editor = <ListEditor {...props} draft={draft} />;
  } else if (draft.t === 'object') {
    editor = <ObjectEditor {...props} draft={draft} />;
  } else {
    editor = <ScalarEditor {...props} />;
  }
  return (
    <div className={`jp-Deploy-field jp-mod-${field.kind}`}>
      <div className="jp-Deploy-fieldRow">
        {editor}
        {field.nullable && <NullToggle {...props} />}
      </div>
      {error && <FieldError message={`${path} ${error}`} />}
    </div>
  );
}

function NullToggle(props: IEditorProps): JSX.Element {
  const isNull = props.draft.t === 'null';
  return (
    <label className="jp-Deploy-nullToggle">
      <input
        type="checkbox"
        checked={isNull}
        aria-label={`${props.path} is null`}
        onChange={() =>
          props.onChange(
            isNull
              ? emptyDraft({ ...props.field, nullable: false })
              : { t: 'null' }
          )
        }
      />
      null
    </label>
  );
}

function ScalarEditor(props: IEditorProps): JSX.Element {
  const { field, draft, path } = props;
  const label = path || 'body';
  if (draft.t === 'bool') {
    return (
      <input
        type="checkbox"
        aria-label={label}
        checked={draft.value}
        onChange={event =>
          props.onChange({ t: 'bool', value: event.target.checked })
        }
      />
    );
  }
  const text = draft.t === 'text' ? draft.text : '';
  const set = (value: string) => props.onChange({ t: 'text', text: value });
  if (field.kind === 'enum') {
    return <EnumSelect field={field} label={label} text={text} set={set} />;
  }
  if (field.kind === 'json') {
    return <JsonInput field={field} label={label} text={text} set={set} />;
  }
  const numeric = field.kind === 'number' || field.kind === 'integer';
  return (
    <input
      className={`jp-mod-styled jp-Deploy-input ${numeric ? 'jp-mod-number' : ''}`}
      aria-label={label}
      inputMode={numeric ? 'decimal' : undefined}
      value={text}
      placeholder={field.kind}
      spellCheck={false}
      onChange={event => set(event.target.value)}
    />
  );
}

interface ITextProps {
  field: IField;
  label: string;
  text: string;
  set: (text: string) => void;
}

/** A Literal's choices (each value shown and kept as JSON). */
function EnumSelect(props: ITextProps): JSX.Element {
  return (
    <select
      className="jp-mod-styled"
      aria-label={props.label}
      value={props.text}
      onChange={event => props.set(event.target.value)}
    >
      {(props.field.options ?? []).map(option => {
        const json = JSON.stringify(option);
        return (
          <option key={json} value={json}>
            {json}
          </option>
        );
      })}
    </select>
  );
}

/** Any JSON value (Any, Union, a bare dict's values), checked against its schema. */
function JsonInput(props: ITextProps): JSX.Element {
  return (
    <textarea
      className="jp-Deploy-json jp-Deploy-jsonField"
      aria-label={props.label}
      spellCheck={false}
      rows={Math.min(6, Math.max(1, props.text.split('\n').length))}
      value={props.text}
      placeholder={typeLabel(props.field.schema)}
      onChange={event => props.set(event.target.value)}
    />
  );
}

function ListEditor(
  props: IEditorProps & { draft: Extract<Draft, { t: 'list' }> }
): JSX.Element {
  const { field, draft, path } = props;
  const fixed = field.kind === 'tuple';
  const itemField = (i: number) => field.positions?.[i] ?? field.items!;
  const setItem = (i: number, item: Draft) => {
    const items = draft.items.slice();
    items[i] = item;
    props.onChange({ t: 'list', items });
  };
  const scalars = field.items && isScalar(field.items);
  return (
    <div className={`jp-Deploy-list ${scalars ? 'jp-mod-inline' : ''}`}>
      {draft.items.map((item, i) => (
        <div className="jp-Deploy-listItem" key={i}>
          <FieldEditor
            {...props}
            field={itemField(i)}
            draft={item}
            path={joinPath(path, i)}
            onChange={next => setItem(i, next)}
          />
          {!fixed && (
            <button
              className="jp-Deploy-iconButton"
              title="Remove this item"
              aria-label={`Remove ${joinPath(path, i)}`}
              onClick={() =>
                props.onChange({
                  t: 'list',
                  items: draft.items.filter((_, j) => j !== i)
                })
              }
            >
              ×
            </button>
          )}
        </div>
      ))}
      {!fixed && (
        <button
          className="jp-Deploy-addButton"
          aria-label={`Add an item to ${path || 'the list'}`}
          onClick={() =>
            props.onChange({
              t: 'list',
              items: [...draft.items, emptyDraft(field.items!)]
            })
          }
        >
          + item
        </button>
      )}
    </div>
  );
}

function isScalar(field: IField): boolean {
  return ['integer', 'number', 'string', 'boolean', 'enum'].includes(
    field.kind
  );
}

function ObjectEditor(
  props: IEditorProps & { draft: Extract<Draft, { t: 'object' }> }
): JSX.Element {
  const { field, draft, path } = props;
  const setProp = (name: string, value: Draft | undefined) =>
    props.onChange({ ...draft, props: { ...draft.props, [name]: value } });
  const setExtra = (extra: typeof draft.extra) =>
    props.onChange({ ...draft, extra });
  return (
    <div className={`jp-Deploy-object ${path ? 'jp-mod-nested' : ''}`}>
      {(field.properties ?? []).map(property => (
        <PropertyRow
          key={property.name}
          {...props}
          property={property}
          value={draft.props[property.name]}
          onSet={value => setProp(property.name, value)}
        />
      ))}
      {draft.extra.map((entry, i) => (
        <ExtraRow
          key={i}
          {...props}
          index={i}
          entry={entry}
          setExtra={setExtra}
        />
      ))}
      {field.extra && (
        <button
          className="jp-Deploy-addButton"
          aria-label={`Add a key to ${path || 'the body'}`}
          onClick={() =>
            setExtra([
              ...draft.extra,
              { key: '', value: emptyDraft(field.extra!) }
            ])
          }
        >
          + key
        </button>
      )}
    </div>
  );
}

/** A key of a `dict[str, X]` (or `**kwargs`) and its value. */
function ExtraRow(
  props: IEditorProps & {
    draft: Extract<Draft, { t: 'object' }>;
    index: number;
    entry: { key: string; value: Draft };
    setExtra: (extra: { key: string; value: Draft }[]) => void;
  }
): JSX.Element {
  const { draft, index: i, entry, path } = props;
  const replace = (next: { key: string; value: Draft }) => {
    const extra = draft.extra.slice();
    extra[i] = next;
    props.setExtra(extra);
  };
  return (
    <div className="jp-Deploy-prop jp-mod-extra">
      <input
        className="jp-mod-styled jp-Deploy-key"
        aria-label={`Key ${i + 1} of ${path || 'the body'}`}
        value={entry.key}
        placeholder="key"
        onChange={event => replace({ ...entry, key: event.target.value })}
      />
      <FieldEditor
        {...props}
        field={props.field.extra!}
        draft={entry.value}
        path={joinPath(path, entry.key || `#${i + 1}`)}
        onChange={value => replace({ ...entry, value })}
      />
      <button
        className="jp-Deploy-iconButton"
        title="Remove this key"
        onClick={() => props.setExtra(draft.extra.filter((_, j) => j !== i))}
      >
        ×
      </button>
    </div>
  );
}

function PropertyRow(
  props: IEditorProps & {
    property: IProperty;
    value: Draft | undefined;
    onSet: (value: Draft | undefined) => void;
  }
): JSX.Element {
  const { property, value, path } = props;
  const where = joinPath(path, property.name);
  const error = props.errors.get(where);
  return (
    <div className="jp-Deploy-prop" data-path={where}>
      <div className="jp-Deploy-propLabel">
        {!property.required && (
          <input
            type="checkbox"
            checked={value !== undefined}
            aria-label={`Send ${where}`}
            title="Optional: send this argument"
            onChange={() =>
              props.onSet(
                value === undefined ? emptyDraft(property.field) : undefined
              )
            }
          />
        )}
        <span className="jp-Deploy-propName">{property.name}</span>
        <span className="jp-Deploy-propType">
          {typeLabel(property.field.schema)}
          {property.required ? '' : ' · optional'}
        </span>
      </div>
      {value !== undefined ? (
        <FieldEditor
          {...props}
          field={property.field}
          draft={value}
          path={where}
          onChange={props.onSet}
        />
      ) : (
        <div className="jp-Deploy-muted">left out (predict's default)</div>
      )}
      {value === undefined && error && (
        <FieldError message={`${where} ${error}`} />
      )}
    </div>
  );
}
