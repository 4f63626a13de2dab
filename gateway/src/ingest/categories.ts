/** Data categories are shared with the patient's agent: one implementation, in @phr/common. */
export {
  categoriesOf,
  categoriesOfAll,
  DATA_CATEGORIES,
  possibleCategoriesOfType,
  type DataCategory,
} from '@phr/common';
