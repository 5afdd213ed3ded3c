// A small code editor with syntax highlighting: a transparent <textarea> (which keeps native
// editing, selection, undo and accessibility) laid over a <pre><code> that shows the same text
// highlighted by a tiny tokenizer for Go, JavaScript and Python.

const KEYWORDS = {
  python: `and as assert async await break class continue def del elif else except False finally
    for from global if import in is lambda None nonlocal not or pass raise return True try while
    with yield match case self`,
  javascript: `async await break case catch class const continue debugger default delete do else
    export extends false finally for from function if import in instanceof let new null of return
    static super switch this throw true try typeof undefined var void while with yield`,
  go: `break case chan const continue default defer else fallthrough for func go goto if import
    interface map package range return select struct switch type var nil true false iota any
    error string int int64 float64 bool byte rune`,
};

const COMMENT = { python: String.raw`#[^\n]*`, javascript: String.raw`\/\/[^\n]*|\/\*[\s\S]*?\*\/` };
COMMENT.go = COMMENT.javascript;

const QUOTED = String.raw`"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'`;
const STRING = {
  python: String.raw`[rRbBuUfF]{0,2}(?:"""[\s\S]*?"""|'''[\s\S]*?'''|${QUOTED})`,
  javascript: String.raw`\`(?:\\[\s\S]|[^\`\\])*\`|${QUOTED}`,
  go: String.raw`\`[^\`]*\`|${QUOTED}`,
};
const NUMBER = String.raw`\b(?:0[xXoObB][\da-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)\b`;
const IDENT = String.raw`[A-Za-z_$][\w$]*`;

const compiled = {};

/** The tokenizer of a language: one global regex, a group per token class. */
function tokenizer(lang) {
  if (!compiled[lang]) {
    compiled[lang] = {
      re: new RegExp(`(${COMMENT[lang]})|(${STRING[lang]})|(${NUMBER})|(${IDENT})`, 'g'),
      keywords: new Set(KEYWORDS[lang].split(/\s+/).filter(Boolean)),
    };
  }
  return compiled[lang];
}

const escapeHtml = (s) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
const span = (cls, text) => `<span class="tok-${cls}">${escapeHtml(text)}</span>`;

/** Highlighted HTML for `code` in `lang` ('go' | 'javascript' | 'python'; others: plain). */
export function highlight(code, lang) {
  if (!KEYWORDS[lang]) return escapeHtml(code);
  const { re, keywords } = tokenizer(lang);
  let out = '';
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    out += escapeHtml(code.slice(last, m.index));
    const [text, comment, string, number, ident] = m;
    if (comment) out += span('com', text);
    else if (string) out += span('str', text);
    else if (number) out += span('num', text);
    else if (ident && keywords.has(text)) out += span('kw', text);
    else if (ident && /^\s*\(/.test(code.slice(re.lastIndex, re.lastIndex + 40))) out += span('fn', text);
    else out += escapeHtml(text);
    last = re.lastIndex;
  }
  return out + escapeHtml(code.slice(last));
}

/**
 * Turns `<div class="editor">` holding a `<textarea>` into a highlighting editor.
 * Tab inserts four spaces (Escape, then Tab, moves focus out as usual); Enter keeps the indent.
 */
export class CodeEditor {
  constructor(container, { language = '', value = '' } = {}) {
    this.container = container;
    this.textarea = container.querySelector('textarea');
    this.textarea.spellcheck = false;
    this.textarea.setAttribute('autocapitalize', 'off');
    this.textarea.setAttribute('autocomplete', 'off');
    this.pre = document.createElement('pre');
    this.pre.setAttribute('aria-hidden', 'true');
    this.code = document.createElement('code');
    this.pre.append(this.code);
    container.prepend(this.pre);
    this.language = language;
    this.escaped = false;
    this.textarea.addEventListener('input', () => this.render());
    this.textarea.addEventListener('scroll', () => this.syncScroll());
    this.textarea.addEventListener('keydown', (event) => this.onKey(event));
    this.value = value;
  }

  get value() { return this.textarea.value; }

  set value(text) {
    this.textarea.value = text;
    this.render();
  }

  setLanguage(language) {
    this.language = language;
    this.render();
  }

  render() {
    this.code.className = this.language ? `language-${this.language}` : '';
    this.container.dataset.language = this.language;
    // A trailing newline would be dropped by <pre>; a space keeps both layers the same height.
    this.code.innerHTML = highlight(this.textarea.value, this.language) + ' ';
    this.syncScroll();
  }

  syncScroll() {
    this.pre.scrollTop = this.textarea.scrollTop;
    this.pre.scrollLeft = this.textarea.scrollLeft;
  }

  insert(text) {
    // execCommand keeps the browser's undo history; setRangeText is the fallback.
    if (!document.execCommand('insertText', false, text)) {
      const { selectionStart: start, selectionEnd: end } = this.textarea;
      this.textarea.setRangeText(text, start, end, 'end');
      this.render();
    }
  }

  onKey(event) {
    if (event.key === 'Escape') { this.escaped = true; return; }
    if (event.key === 'Tab' && !this.escaped && !event.ctrlKey && !event.altKey && !event.metaKey) {
      event.preventDefault();
      this.insert('    ');
    } else if (event.key === 'Enter' && !event.shiftKey && !event.ctrlKey && !event.isComposing) {
      const { value, selectionStart } = this.textarea;
      const line = value.slice(value.lastIndexOf('\n', selectionStart - 1) + 1, selectionStart);
      const indent = line.match(/^[ \t]*/)[0] + (/[:{([]\s*$/.test(line) ? '    ' : '');
      event.preventDefault();
      this.insert(`\n${indent}`);
    }
    this.escaped = false;
  }
}
